"""The approval guard: under `approval: announce` or `manual`, people have their say before a switchover.

Pure, like every guard: it answers from `History.approval`, the cluster's live approvals, vetoes
and announcements as the cycle read them from the journal. It is not a safety guard: whatever
it allows, pause, state, version, breaker, concurrency and load are still asked.

- `auto`: allows (the behaviour without approvals).
- `manual`: allows while an unused, unexpired approval exists (`dws-rebalancer approve`).
- `announce`: allows from the announced slot until that slot is over, unless vetoed. Before any
  announcement it blocks with the earliest slot one could name (`announce_lead` after it), so
  the decision's `next_eligible` is where the cycle would announce the switchover.

A veto blocks under both `announce` and `manual` until it ends. A switchover a person asked
for (`switchover CLUSTER`) needs no approval: the request is one.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from controller.guards import GuardSpec
from controller.guards.text import duration_text, utc_text
from controller.guards.timewindow import governing_windows, occurrence_end
from controller.model import (
    ALLOW,
    ApprovalFacts,
    ApprovalMark,
    Cluster,
    GuardResult,
    History,
    Reason,
    block,
)
from controller.settings import EffectivePolicy

REASONS = frozenset({Reason.ANNOUNCED, Reason.VETOED, Reason.AWAITING_APPROVAL})


class ApprovalState(StrEnum):
    """Where an unbalanced cluster stands with people (the `approval_state` metric's values)."""

    NOT_ANNOUNCED = "not_announced"  # announce: nothing announced yet
    ANNOUNCED = "announced"  # announce: announced, its slot not reached (veto period)
    VETOED = "vetoed"
    AWAITING_APPROVAL = "awaiting_approval"  # manual: no live approval
    APPROVED = "approved"  # cleared: a live approval, or an announced slot reached unvetoed


def approval_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    if policy.approval == "auto":
        return ALLOW
    facts = history.approval
    if facts is None:  # fail closed: what people said is unknown
        reason = Reason.AWAITING_APPROVAL if policy.approval == "manual" else Reason.ANNOUNCED
        return block(reason, "approvals, vetoes and announcements could not be read")
    if facts.requested:
        return ALLOW
    veto = _active(facts.veto, now)
    if veto is not None:
        return block(Reason.VETOED, _vetoed(veto), veto.until)
    if policy.approval == "manual":
        return _manual(cluster, facts, now)
    return _announce(cluster, facts, policy, now)


def _manual(cluster: Cluster, facts: ApprovalFacts, now: dt.datetime) -> GuardResult:
    approval = facts.approval
    if approval is not None and now < approval.until:
        return ALLOW
    detail = f"approval: manual: waiting for `dws-rebalancer approve {cluster.name}`"
    if approval is not None:  # asked about a later instant than the approval lasts
        detail += f" (the approval by {approval.by or '?'} expires {utc_text(approval.until)})"
    return block(Reason.AWAITING_APPROVAL, detail)


def _announce(
    cluster: Cluster, facts: ApprovalFacts, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    announcement = facts.announcement
    if announcement is not None and announcement.slot is not None:
        if now < announcement.slot:
            return block(
                Reason.ANNOUNCED,
                f"announced for {utc_text(announcement.slot)}: runs then unless vetoed"
                f" (`dws-rebalancer veto {cluster.name}`)",
                announcement.slot,
            )
        if now < announcement.until:
            return ALLOW
    earliest = earliest_slot(facts, policy)
    if now < earliest:
        return block(
            Reason.ANNOUNCED,
            f"not announced yet: a switchover is announced {duration_text(policy.announce_lead)}"
            f" before its slot, at the earliest {utc_text(earliest)}",
            earliest,
        )
    return ALLOW  # asked about a later instant: an announcement made meanwhile names this slot


def earliest_slot(facts: ApprovalFacts, policy: EffectivePolicy) -> dt.datetime:
    """The earliest slot a new announcement could name: `announce_lead` after the facts were
    read, or after the veto or announced slot holding the cluster now has ended."""
    held = [mark.until for mark in (facts.veto, facts.announcement) if mark is not None]
    return max([facts.as_of, *held]) + policy.announce_lead


def slot_end(cluster: Cluster, policy: EffectivePolicy, slot: dt.datetime) -> dt.datetime:
    """When an announced slot is over: the end of the window occurrence it falls in; without a
    window, `announce_lead` after it. A default veto lasts until then; the next announcement
    names a slot after it (the next window opening)."""
    windows = governing_windows(cluster, policy)
    end = occurrence_end(windows, slot) if windows else None
    return end if end is not None else slot + policy.announce_lead


def approval_state(
    policy: EffectivePolicy, facts: ApprovalFacts | None, now: dt.datetime
) -> ApprovalState | None:
    """The cluster's state with people at `now`; None under `approval: auto`."""
    if policy.approval == "auto":
        return None
    if facts is not None and _active(facts.veto, now) is not None:
        return ApprovalState.VETOED
    if policy.approval == "manual":
        approved = facts is not None and _active(facts.approval, now) is not None
        return ApprovalState.APPROVED if approved else ApprovalState.AWAITING_APPROVAL
    announcement = None if facts is None else _active(facts.announcement, now)
    if announcement is None or announcement.slot is None:
        return ApprovalState.NOT_ANNOUNCED
    return ApprovalState.ANNOUNCED if now < announcement.slot else ApprovalState.APPROVED


def _active(mark: ApprovalMark | None, now: dt.datetime) -> ApprovalMark | None:
    return mark if mark is not None and now < mark.until else None


def _vetoed(veto: ApprovalMark) -> str:
    why = f": {veto.reason}" if veto.reason else ""
    return f"vetoed by {veto.by or '?'} until {utc_text(veto.until)}{why}"


SPEC = GuardSpec("approval", approval_guard, REASONS, lifts_with_time=True)
