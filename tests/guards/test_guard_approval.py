"""The approval guard: auto, announce (slot, veto) and manual (approval used, expired), as a table."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from guardkit import cases, cluster, policy, utc, window

from controller.guards.approval import ApprovalState, approval_guard, approval_state, slot_end
from controller.guards.decide import judge
from controller.model import Action, ApprovalFacts, ApprovalMark, History, Reason

NOW = utc("2026-11-30 12:00")
HOUR = dt.timedelta(hours=1)


def mark(until: str, *, slot: str | None = None, by: str = "alice", id: int = 1) -> ApprovalMark:
    return ApprovalMark(id, NOW - HOUR, utc(until), by, "why", utc(slot) if slot else None)


def facts(**marks: ApprovalMark) -> ApprovalFacts:
    return ApprovalFacts(NOW, **marks)


ANNOUNCED = mark("2026-11-30 16:00", slot="2026-11-30 13:00")
VETO_UNTIL_14 = mark("2026-11-30 14:00")
APPROVED = mark("2026-12-01 12:00")


@pytest.mark.parametrize(
    ("mode", "given", "at", "reason", "next_eligible"),
    cases([
        ("auto allows without facts", "auto", None, NOW, None, None),
        ("auto ignores a veto", "auto", facts(veto=VETO_UNTIL_14), NOW, None, None),
        ("announce, unread facts fail closed", "announce", None, NOW, Reason.ANNOUNCED, None),
        ("announce, nothing announced: the earliest slot", "announce", facts(), NOW,
         Reason.ANNOUNCED, utc("2026-11-30 13:00")),
        ("announce, before the slot", "announce", facts(announcement=ANNOUNCED), NOW,
         Reason.ANNOUNCED, utc("2026-11-30 13:00")),
        ("announce, at the slot", "announce", facts(announcement=ANNOUNCED),
         utc("2026-11-30 13:00"), None, None),
        ("announce, later in the slot", "announce", facts(announcement=ANNOUNCED),
         utc("2026-11-30 15:59"), None, None),
        ("announce, the slot is over: a new announcement, lead after it", "announce",
         facts(announcement=ANNOUNCED), utc("2026-11-30 16:00"), Reason.ANNOUNCED,
         utc("2026-11-30 17:00")),
        ("announce, vetoed", "announce", facts(veto=VETO_UNTIL_14), NOW, Reason.VETOED,
         utc("2026-11-30 14:00")),
        ("announce, after the veto: announced lead after its end", "announce",
         facts(veto=VETO_UNTIL_14), utc("2026-11-30 14:00"), Reason.ANNOUNCED,
         utc("2026-11-30 15:00")),
        ("manual, unread facts fail closed", "manual", None, NOW, Reason.AWAITING_APPROVAL, None),
        ("manual, no approval", "manual", facts(), NOW, Reason.AWAITING_APPROVAL, None),
        ("manual, approved", "manual", facts(approval=APPROVED), NOW, None, None),
        ("manual, the approval expired", "manual", facts(approval=APPROVED),
         utc("2026-12-01 12:00"), Reason.AWAITING_APPROVAL, None),
        ("manual, a veto beats the approval", "manual",
         facts(approval=APPROVED, veto=VETO_UNTIL_14), NOW, Reason.VETOED,
         utc("2026-11-30 14:00")),
        ("a manual request is its own approval", "manual",
         dataclasses.replace(facts(veto=VETO_UNTIL_14), requested=True), NOW, None, None),
    ]),
)  # fmt: skip
def test_the_guard(
    mode: str,
    given: ApprovalFacts | None,
    at: dt.datetime,
    reason: Reason | None,
    next_eligible: dt.datetime | None,
) -> None:
    result = approval_guard(cluster(), History(approval=given), policy(approval=mode), at)
    assert result.allowed is (reason is None)
    assert result.reason is reason
    assert result.next_eligible == next_eligible


def test_details_say_who_and_what_to_type() -> None:
    vetoed = approval_guard(cluster(), History(approval=facts(veto=VETO_UNTIL_14)), policy(approval="announce"), NOW)  # fmt: skip
    assert vetoed.detail == "vetoed by alice until 2026-11-30 14:00 UTC: why"
    waiting = approval_guard(cluster(), History(approval=facts()), policy(approval="manual"), NOW)
    assert "`dws-rebalancer approve sales-dw`" in waiting.detail
    announced = approval_guard(
        cluster(), History(approval=facts(announcement=ANNOUNCED)), policy(approval="announce"), NOW
    )
    assert "`dws-rebalancer veto sales-dw`" in announced.detail


@pytest.mark.parametrize(
    ("guarded", "reason"),
    cases([
        ("pause", History(paused=True), Reason.PAUSED),
        ("breaker", History(consecutive_failures=3), Reason.BREAKER_OPEN),
        ("permission", History(forbidden="403"), Reason.PERMISSION_DENIED),
        ("concurrency", History(in_flight_elsewhere=1), Reason.CONCURRENCY_LIMIT),
    ]),
)  # fmt: skip
def test_an_approval_never_bypasses_a_safety_guard(guarded: History, reason: Reason) -> None:
    history = dataclasses.replace(guarded, approval=facts(approval=APPROVED))
    verdict = judge(cluster(), history, policy(approval="manual"), NOW)
    assert verdict.decision.reason is reason
    assert dict(verdict.results)["approval"].allowed


def test_an_approval_does_not_bypass_the_state_guard() -> None:
    history = History(approval=facts(approval=APPROVED))
    verdict = judge(cluster(status="FAILED"), history, policy(approval="manual"), NOW)
    assert verdict.decision.reason is Reason.CLUSTER_NOT_AVAILABLE


def test_announce_projects_the_slot_past_the_window_opening() -> None:
    """Outside a window that opens in 30 min, the earliest slot is an hour away (inside it)."""
    shanghai = window("Mon,Tue,Wed,Thu,Fri", "01:00", "05:00", "Asia/Shanghai")
    before = utc("2026-11-29 16:30")  # Monday 00:30 Shanghai
    history = History(approval=ApprovalFacts(before), unbalanced_since=before - HOUR)
    verdict = judge(cluster(), history, policy(approval="announce", windows=[shanghai]), before)
    assert verdict.decision.reason is Reason.OUTSIDE_WINDOW
    assert verdict.decision.next_eligible == before + HOUR
    assert verdict.blocked_by == ("window", "approval")


def test_manual_has_no_next_eligible_until_approved() -> None:
    verdict = judge(cluster(), History(approval=facts()), policy(approval="manual"), NOW)
    assert (verdict.decision.action, verdict.decision.next_eligible) == (Action.BLOCKED, None)


def test_a_slot_lasts_until_its_window_occurrence_ends_or_one_lead_without_windows() -> None:
    shanghai = window("Mon", "01:00", "05:00", "Asia/Shanghai")
    slot = utc("2026-11-29 17:30")  # Monday 01:30 Shanghai
    assert slot_end(cluster(), policy(windows=[shanghai]), slot) == utc("2026-11-29 21:00")
    assert slot_end(cluster(), policy(announce_lead="2h"), slot) == slot + 2 * HOUR


@pytest.mark.parametrize(
    ("mode", "given", "state"),
    cases([
        ("auto", "auto", facts(), None),
        ("not announced", "announce", facts(), ApprovalState.NOT_ANNOUNCED),
        ("announced", "announce", facts(announcement=ANNOUNCED), ApprovalState.ANNOUNCED),
        ("vetoed", "announce", facts(veto=VETO_UNTIL_14), ApprovalState.VETOED),
        ("awaiting", "manual", facts(), ApprovalState.AWAITING_APPROVAL),
        ("approved", "manual", facts(approval=APPROVED), ApprovalState.APPROVED),
    ]),
)  # fmt: skip
def test_the_state_for_metrics_and_status(
    mode: str, given: ApprovalFacts, state: ApprovalState | None
) -> None:
    assert approval_state(policy(approval=mode), given, NOW) is state
