"""judge()'s decision: the guard ladder, actions and reasons, ignore_window, next_eligible, per-cluster overrides."""

from __future__ import annotations

import os

import pytest
from guardkit import cases, cluster, policy, switchover, utc, window

from controller.guards.decide import judge
from controller.guards.registry import GUARDS
from controller.model import Action, Decision, History, Reason, Version
from controller.settings import Blackout, Settings

NOW = utc("2026-11-30 12:00")  # Monday 20:00 in Shanghai
SHANGHAI_WEEKDAYS = window(
    "Mon,Tue,Wed,Thu,Fri", "01:00", "05:00", "Asia/Shanghai"
)  # Sun-Thu 17-21 UTC


def decide(*args, **kwargs) -> Decision:
    return judge(*args, **kwargs).decision


def test_guards_run_in_the_documented_order():
    assert [spec.name for spec in GUARDS] == [
        "listing", "pause", "selection", "state", "version", "debounce", "blackout",
        "window", "cooldown", "budget", "approval", "breaker", "concurrency",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "history", "reason"),
    [
        ({"sub_status": frozenset({"NORMAL"})}, History(), Reason.NOT_UNBALANCED),
        ({"sub_status": frozenset()}, History(paused=True), Reason.NOT_UNBALANCED),
        (
            {"sub_status": frozenset({"NORMAL"}), "task_status": "ACTIVE_STANDY_SWITCHOVER"},
            History(),
            Reason.SWITCHOVER_IN_PROGRESS,
        ),
    ],
    ids=["balanced", "balanced-while-paused", "balanced-while-switching"],
)
def test_nothing_to_do_unless_unbalanced(changes, history, reason):
    decision = decide(cluster(**changes), history, policy(), NOW)
    assert (decision.action, decision.reason, decision.next_eligible) == (Action.NONE, reason, None)


def test_eligible_cluster_switches_over_or_dry_runs():
    switch = decide(cluster(), History(), policy(), NOW)
    dry = decide(cluster(), History(), policy(), NOW, dry_run=True)
    assert (switch.action, switch.reason) == (Action.SWITCHOVER, Reason.ELIGIBLE)
    assert (dry.action, dry.reason) == (Action.DRY_RUN, Reason.DRY_RUN)
    assert (switch.cluster_id, switch.cluster_name, switch.at) == ("c-1", "sales-dw", NOW)


def test_first_blocking_guard_gives_the_reason():
    decision = decide(cluster(), History(paused=True), policy(windows=[SHANGHAI_WEEKDAYS]), NOW)
    assert (decision.action, decision.reason) == (Action.BLOCKED, Reason.PAUSED)


@pytest.mark.parametrize(
    "changes",
    [{}, {"sub_status": frozenset({"NORMAL"})}, {"task_status": "ACTIVE_STANDY_SWITCHOVER"}],
    ids=["unbalanced", "balanced", "switching"],
)
def test_an_ambiguous_listing_blocks_before_anything_else_is_judged(changes):
    decision = decide(cluster(listing_copies=3, **changes), History(paused=True), policy(), NOW)
    assert (decision.action, decision.reason) == (Action.BLOCKED, Reason.AMBIGUOUS_LISTING)
    assert decision.detail == "cluster id c-1 appears 3 times in one list answer"
    assert decision.next_eligible is None


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(cluster(), History(), policy(), NOW.replace(tzinfo=None))


def test_the_verdict_reports_every_guard_not_only_the_first_block():
    verdict = judge(
        cluster(task_status="SNAPSHOTTING"),
        History(consecutive_failures=9),
        policy(windows=[SHANGHAI_WEEKDAYS]),
        NOW,
    )
    assert [name for name, _ in verdict.results] == [spec.name for spec in GUARDS]
    assert verdict.blocked_by == ("state", "window", "breaker")
    assert verdict.decision.reason is Reason.TASK_IN_PROGRESS
    blocked = {name: result.reason for name, result in verdict.results if not result.allowed}
    assert blocked == {
        "state": Reason.TASK_IN_PROGRESS,
        "window": Reason.OUTSIDE_WINDOW,
        "breaker": Reason.BREAKER_OPEN,
    }


IN_BLACKOUT = [Blackout(start=utc("2026-11-30 11:00"), end=utc("2026-11-30 13:00"))]
# (guard, cluster changes, history, policy fields, reason, bypassed by ignore_window)
BYPASS_CASES = [
    ("listing", {"listing_copies": 2}, History(), {}, Reason.AMBIGUOUS_LISTING, False),
    ("pause", {}, History(paused=True), {}, Reason.PAUSED, False),
    ("selection", {}, History(), {"selection": {"exclude": ["*"]}}, Reason.EXCLUDED, False),
    ("state", {"task_status": "SNAPSHOTTING"}, History(), {}, Reason.TASK_IN_PROGRESS, False),
    (
        "version",
        {"version": Version.parse("8.1.0.0")},
        History(),
        {},
        Reason.VERSION_UNSUPPORTED,
        False,
    ),
    ("debounce", {}, History(), {"min_unbalanced_duration": "10m"}, Reason.DEBOUNCING, False),
    ("blackout", {}, History(), {"blackouts": IN_BLACKOUT}, Reason.BLACKOUT, True),
    ("window", {}, History(), {"windows": [SHANGHAI_WEEKDAYS]}, Reason.OUTSIDE_WINDOW, True),
    (
        "cooldown",
        {},
        History(switchovers=(switchover("2026-11-30 10:00", "2026-11-30 10:05"),)),
        {"cooldown": "6h"},
        Reason.COOLDOWN,
        True,
    ),
    ("budget", {}, History(), {"max_per_day": 0}, Reason.DAILY_BUDGET, True),
    ("breaker", {}, History(consecutive_failures=3), {}, Reason.BREAKER_OPEN, False),
    ("permission", {}, History(forbidden="denied"), {}, Reason.PERMISSION_DENIED, False),
    ("concurrency", {}, History(in_flight_elsewhere=1), {}, Reason.CONCURRENCY_LIMIT, False),
]


@pytest.mark.parametrize(
    ("changes", "history", "fields", "reason", "bypassed"), cases(BYPASS_CASES)
)
def test_ignore_window_bypasses_only_blackout_window_cooldown_and_budget(
    changes, history, fields, reason, bypassed
):
    args = (cluster(**changes), history, policy(**fields), NOW)
    assert decide(*args).reason is reason
    manual = decide(*args, ignore_window=True)
    assert manual.action is (Action.SWITCHOVER if bypassed else Action.BLOCKED)
    assert manual.reason is (Reason.ELIGIBLE if bypassed else reason)


def test_ignore_window_bypasses_all_four_at_once():
    history = History(switchovers=(switchover("2026-11-30 10:00", "2026-11-30 10:05"),))
    fields = {
        "blackouts": IN_BLACKOUT,
        "windows": [SHANGHAI_WEEKDAYS],
        "cooldown": "6h",
        "max_per_day": 1,
    }
    assert decide(cluster(), history, policy(**fields), NOW).action is Action.BLOCKED
    assert (
        decide(cluster(), history, policy(**fields), NOW, ignore_window=True).action
        is Action.SWITCHOVER
    )


def _long_blackout(start, end):
    return [Blackout(start=utc(start), end=utc(end))]


# (now, history, policy fields, first reason, next eligible)
NEXT_CASES = [
    (
        "cooldown-ends-after-window-closes",
        "2026-11-30 18:00",
        History(switchovers=(switchover("2026-11-30 15:50", "2026-11-30 16:00"),)),
        {"windows": [SHANGHAI_WEEKDAYS], "cooldown": "6h"},
        Reason.COOLDOWN,
        "2026-12-01 17:00",
    ),
    (
        "cooldown-ends-inside-window",
        "2026-11-30 18:00",
        History(switchovers=(switchover("2026-11-30 14:50", "2026-11-30 15:00"),)),
        {"windows": [SHANGHAI_WEEKDAYS], "cooldown": "5h"},
        Reason.COOLDOWN,
        "2026-11-30 20:00",
    ),
    (
        "blackout-ends-inside-window",
        "2026-11-30 17:30",
        History(),
        {
            "windows": [SHANGHAI_WEEKDAYS],
            "blackouts": _long_blackout("2026-11-30 16:00", "2026-11-30 19:00"),
        },
        Reason.BLACKOUT,
        "2026-11-30 19:00",
    ),
    (
        "blackout-ends-after-window",
        "2026-11-30 17:30",
        History(),
        {
            "windows": [SHANGHAI_WEEKDAYS],
            "blackouts": _long_blackout("2026-11-30 16:00", "2026-11-30 22:00"),
        },
        Reason.BLACKOUT,
        "2026-12-01 17:00",
    ),
    (
        "window-opens-then-budget-frees-inside-it",
        "2026-11-30 12:00",
        History(switchovers=(switchover("2026-11-29 19:00", "2026-11-29 19:05"),)),
        {"windows": [SHANGHAI_WEEKDAYS], "max_per_day": 1},
        Reason.OUTSIDE_WINDOW,
        "2026-11-30 19:00",
    ),
    (
        "debounce-outlasts-window",
        "2026-11-30 20:55",
        History(),
        {"windows": [SHANGHAI_WEEKDAYS], "min_unbalanced_duration": "10m"},
        Reason.DEBOUNCING,
        "2026-12-01 17:00",
    ),
    (
        "shanghai-friday-window-then-weekend",
        "2026-12-03 20:00",
        History(switchovers=(switchover("2026-12-03 17:00", "2026-12-03 17:10"),)),
        {"windows": [SHANGHAI_WEEKDAYS], "cooldown": "6h"},
        Reason.COOLDOWN,
        "2026-12-06 17:00",
    ),
    (
        "budget-zero-never",
        "2026-11-30 18:00",
        History(),
        {"max_per_day": 0},
        Reason.DAILY_BUDGET,
        None,
    ),
    (
        "beyond-30-days",
        "2026-11-30 12:00",
        History(),
        {"blackouts": _long_blackout("2026-11-01 00:00", "2027-01-15 00:00")},
        Reason.BLACKOUT,
        None,
    ),
    (
        "time-guard-but-breaker-open",
        "2026-11-30 18:00",
        History(
            consecutive_failures=3,
            switchovers=(switchover("2026-11-30 15:50", "2026-11-30 16:00"),),
        ),
        {"cooldown": "6h"},
        Reason.COOLDOWN,
        None,
    ),
    (
        "non-time-guard",
        "2026-11-30 18:00",
        History(in_flight_elsewhere=1),
        {},
        Reason.CONCURRENCY_LIMIT,
        None,
    ),
    (
        "maintenance-window-unknown",
        "2026-11-30 18:00",
        History(),
        {"use_maintenance_window": True},
        Reason.OUTSIDE_WINDOW,
        None,
    ),
]


@pytest.mark.parametrize(("now", "history", "fields", "reason", "expected"), cases(NEXT_CASES))
def test_next_eligible_is_when_every_time_guard_allows(now, history, fields, reason, expected):
    decision = decide(cluster(), history, policy(**fields), utc(now))
    assert (decision.action, decision.reason) == (Action.BLOCKED, reason)
    assert decision.next_eligible == (utc(expected) if expected else None)


def test_manual_next_eligible_ignores_the_bypassed_guards():
    fields = {"windows": [SHANGHAI_WEEKDAYS], "min_unbalanced_duration": "10m"}
    decision = decide(cluster(), History(), policy(**fields), NOW, ignore_window=True)
    assert decision.reason is Reason.DEBOUNCING
    assert decision.next_eligible == utc("2026-11-30 12:10")


def test_overrides_give_matching_clusters_their_own_policy(monkeypatch):
    for name in os.environ:
        if name.upper().startswith("DWS_REBALANCER_"):
            monkeypatch.delenv(name)
    settings = Settings(
        endpoint="https://dws.example.com",
        project_id="p",
        auth={"ak": "a", "sk": "s"},
        policy={"min_unbalanced_duration": "0s"},
        overrides=[{"match": "etl-*", "policy": {"windows": [], "use_maintenance_window": False}}],
    )
    etl, sales = cluster(id="c-2", name="etl-nightly"), cluster()
    etl_policy, sales_policy = (
        settings.policy_for(etl.id, etl.name),
        settings.policy_for(sales.id, sales.name),
    )
    assert etl_policy.windows == []
    assert sales_policy.windows == settings.policy.windows != []
    assert decide(etl, History(), etl_policy, NOW).action is Action.SWITCHOVER
    assert decide(sales, History(), sales_policy, NOW).reason is Reason.OUTSIDE_WINDOW
