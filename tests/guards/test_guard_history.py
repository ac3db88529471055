"""The guards that judge the cluster's past and the fleet: debounce, blackout, cooldown, budget, breaker, concurrency."""

from __future__ import annotations

import datetime as dt

import pytest
from guardkit import cases, cluster, policy, switchover, utc

from controller.guards.blackout import blackout_guard
from controller.guards.breaker import breaker_guard
from controller.guards.budget import budget_guard
from controller.guards.concurrency import concurrency_guard
from controller.guards.cooldown import cooldown_guard
from controller.guards.debounce import debounce_guard
from controller.model import History, Outcome, Reason, Trigger
from controller.settings import Blackout

NOW = utc("2026-11-30 12:00")

DEBOUNCE_CASES = [
    ("unknown-onset-waits-from-now", None, "10m", "2026-11-30 12:10"),
    ("unknown-onset-zero-duration", None, "0s", None),
    ("seen-9m-ago", "2026-11-30 11:51", "10m", "2026-11-30 12:01"),
    ("seen-exactly-10m-ago", "2026-11-30 11:50", "10m", None),
    ("seen-long-ago", "2026-11-29 11:50", "10m", None),
]


@pytest.mark.parametrize(("since", "duration", "until"), cases(DEBOUNCE_CASES))
def test_debounce(since, duration, until):
    history = History(unbalanced_since=utc(since) if since else None)
    result = debounce_guard(cluster(), history, policy(min_unbalanced_duration=duration), NOW)
    assert result.allowed is (until is None)
    assert result.next_eligible == (utc(until) if until else None)
    if until:
        assert result.reason is Reason.DEBOUNCING


def _blackout(start, end, reason="freeze"):
    return Blackout(start=utc(start), end=utc(end), reason=reason)


FREEZE = _blackout("2026-11-30 10:00", "2026-11-30 13:00", "release freeze")
CHAIN = [
    _blackout("2026-11-30 10:00", "2026-11-30 13:00", "release freeze"),
    _blackout("2026-11-30 13:00", "2026-11-30 15:00", "db upgrade"),
    _blackout("2026-11-30 14:00", "2026-11-30 16:00", "audit"),
    _blackout("2026-11-30 17:00", "2026-11-30 18:00", "later, not chained"),
]

BLACKOUT_CASES = [
    ("inside", [FREEZE], "2026-11-30 12:00", "2026-11-30 13:00"),
    ("start-inclusive", [FREEZE], "2026-11-30 10:00", "2026-11-30 13:00"),
    ("end-exclusive", [FREEZE], "2026-11-30 13:00", None),
    ("before", [FREEZE], "2026-11-30 09:59", None),
    ("chained-ends-at-last-overlap", CHAIN, "2026-11-30 12:00", "2026-11-30 16:00"),
    ("gap-after-chain", CHAIN, "2026-11-30 16:30", None),
    ("in-separate-blackout", CHAIN, "2026-11-30 17:30", "2026-11-30 18:00"),
    (
        "offset-times",
        [
            Blackout(
                start=dt.datetime.fromisoformat("2026-11-30T18:00:00+08:00"),
                end=dt.datetime.fromisoformat("2026-11-30T21:00:00+08:00"),
            )
        ],
        "2026-11-30 12:59",
        "2026-11-30 13:00",
    ),
]


@pytest.mark.parametrize(("blackouts", "now", "until"), cases(BLACKOUT_CASES))
def test_blackout(blackouts, now, until):
    result = blackout_guard(cluster(), History(), policy(blackouts=blackouts), utc(now))
    assert result.allowed is (until is None)
    assert result.next_eligible == (utc(until) if until else None)


def test_blackout_detail_names_the_reason_and_the_chained_end():
    result = blackout_guard(cluster(), History(), policy(blackouts=CHAIN), NOW)
    assert result.reason is Reason.BLACKOUT
    assert "'release freeze'" in result.detail
    assert "until 2026-11-30 16:00 UTC" in result.detail


COOLDOWN_CASES = [
    ("no-history", [], None, None),
    (
        "ended-5h-ago",
        [switchover("2026-11-30 06:50", "2026-11-30 07:00")],
        None,
        "2026-11-30 13:00",
    ),
    ("ended-exactly-6h-ago", [switchover("2026-11-30 05:50", "2026-11-30 06:00")], None, None),
    (
        "measured-from-end-not-start",
        [switchover("2026-11-30 04:00", "2026-11-30 11:00")],
        None,
        "2026-11-30 17:00",
    ),
    (
        "in-flight-from-start",
        [switchover("2026-11-30 07:00", outcome=None)],
        None,
        "2026-11-30 13:00",
    ),
    (
        "failed-counts",
        [switchover("2026-11-30 11:00", "2026-11-30 11:30", Outcome.FAILED)],
        None,
        "2026-11-30 17:30",
    ),
    (
        "rejected-does-not-count",
        [switchover("2026-11-30 11:00", "2026-11-30 11:00", Outcome.REJECTED)],
        None,
        None,
    ),
    (
        "external-counts",
        [switchover("2026-11-30 10:00", "2026-11-30 10:05", trigger=Trigger.EXTERNAL)],
        None,
        "2026-11-30 16:05",
    ),
    (
        "manual-counts",
        [switchover("2026-11-30 10:00", "2026-11-30 10:05", trigger=Trigger.MANUAL)],
        None,
        "2026-11-30 16:05",
    ),
    (
        "latest-of-several",
        [
            switchover("2026-11-29 10:00", "2026-11-29 10:05"),
            switchover("2026-11-30 09:00", "2026-11-30 09:10"),
        ],
        None,
        "2026-11-30 15:10",
    ),
    ("journal-unreadable", [], "2026-11-30 11:00", "2026-11-30 17:00"),
]


@pytest.mark.parametrize(("records", "caution", "until"), cases(COOLDOWN_CASES))
def test_cooldown(records, caution, until):
    history = History(switchovers=tuple(records), caution_since=utc(caution) if caution else None)
    result = cooldown_guard(cluster(), history, policy(cooldown="6h"), NOW)
    assert result.allowed is (until is None)
    assert result.next_eligible == (utc(until) if until else None)


@pytest.mark.parametrize(
    ("history", "words"),
    [
        (
            History(switchovers=(switchover("2026-11-30 06:50", "2026-11-30 07:00"),)),
            "last switchover (controller, succeeded) ended 2026-11-30 07:00 UTC; cooldown 6h until 2026-11-30 13:00 UTC",
        ),
        (
            History(switchovers=(switchover("2026-11-30 07:00", outcome=None),)),
            "(controller, still running) started 2026-11-30 07:00 UTC",
        ),
        (History(caution_since=utc("2026-11-30 11:00")), "journal unreadable"),
    ],
    ids=["ended", "in-flight", "caution"],
)
def test_cooldown_detail(history, words):
    assert words in cooldown_guard(cluster(), history, policy(cooldown="6h"), NOW).detail


BUDGET_CASES = [
    (
        "one-of-one-used",
        1,
        [switchover("2026-11-29 13:00", "2026-11-29 13:05")],
        "2026-11-30 13:00",
    ),
    ("rolling-24h-boundary", 1, [switchover("2026-11-29 12:00", "2026-11-29 12:05")], None),
    ("room-left", 2, [switchover("2026-11-30 08:00", "2026-11-30 08:05")], None),
    (
        "over-budget-waits-for-enough-to-age-out",
        2,
        [switchover(f"2026-11-30 0{h}:00", f"2026-11-30 0{h}:05") for h in (1, 3, 5)],
        "2026-12-01 03:00",
    ),
    (
        "rejected-does-not-count",
        1,
        [switchover("2026-11-30 08:00", "2026-11-30 08:00", Outcome.REJECTED)],
        None,
    ),
    (
        "failed-counts",
        1,
        [switchover("2026-11-30 08:00", "2026-11-30 08:30", Outcome.FAILED)],
        "2026-12-01 08:00",
    ),
    (
        "external-counts",
        1,
        [switchover("2026-11-30 08:00", "2026-11-30 08:05", trigger=Trigger.EXTERNAL)],
        "2026-12-01 08:00",
    ),
    ("future-start-counts", 1, [switchover("2026-11-30 12:30", outcome=None)], "2026-12-01 12:30"),
]


@pytest.mark.parametrize(("limit", "records", "until"), cases(BUDGET_CASES))
def test_budget(limit, records, until):
    result = budget_guard(
        cluster(), History(switchovers=tuple(records)), policy(max_per_day=limit), NOW
    )
    assert result.allowed is (until is None)
    assert result.next_eligible == (utc(until) if until else None)
    if until:
        assert result.reason is Reason.DAILY_BUDGET


def test_budget_zero_means_never():
    result = budget_guard(cluster(), History(), policy(max_per_day=0), NOW)
    assert result.reason is Reason.DAILY_BUDGET
    assert result.next_eligible is None
    assert "max_per_day is 0" in result.detail


BREAKER_CASES = [
    ("below-limit", History(consecutive_failures=2), None),
    ("at-limit", History(consecutive_failures=3), Reason.BREAKER_OPEN),
    (
        "forbidden",
        History(forbidden="no permission for dws:cluster:switchover"),
        Reason.PERMISSION_DENIED,
    ),
    (
        "forbidden-wins-over-breaker",
        History(consecutive_failures=5, forbidden="denied"),
        Reason.PERMISSION_DENIED,
    ),
]


@pytest.mark.parametrize(("history", "expected"), cases(BREAKER_CASES))
def test_breaker(history, expected):
    result = breaker_guard(cluster(), history, policy(failure_limit=3), NOW)
    assert result.reason is expected
    assert result.next_eligible is None


def test_breaker_detail_tells_how_to_reset():
    detail = breaker_guard(
        cluster(), History(consecutive_failures=3), policy(failure_limit=3), NOW
    ).detail
    assert "3 consecutive failed switchovers (failure_limit 3)" in detail
    assert "dws-rebalancer reset-breaker sales-dw" in detail


def test_permission_denied_detail_is_bounded():
    result = breaker_guard(cluster(), History(forbidden="x" * 5000), policy(), NOW)
    assert "dws:cluster:switchover" in result.detail
    assert len(result.detail) < 400


CONCURRENCY_CASES = [
    ("none-elsewhere", 0, 1, None),
    ("one-elsewhere-limit-one", 1, 1, Reason.CONCURRENCY_LIMIT),
    ("one-elsewhere-limit-two", 1, 2, None),
    ("three-elsewhere-limit-two", 3, 2, Reason.CONCURRENCY_LIMIT),
]


@pytest.mark.parametrize(("elsewhere", "limit", "expected"), cases(CONCURRENCY_CASES))
def test_concurrency(elsewhere, limit, expected):
    result = concurrency_guard(
        cluster(), History(in_flight_elsewhere=elsewhere), policy(max_concurrent=limit), NOW
    )
    assert result.reason is expected
