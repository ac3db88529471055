"""The guards describe themselves: specs, the registry, the verdict's facts, and extending the ladder."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import pkgutil
import re
from pathlib import Path

import pytest
from guardkit import cluster, policy, switchover, utc, window

import controller.guards
from controller.guards import GuardSpec
from controller.guards.decide import judge
from controller.guards.registry import GUARDS, IGNORE_WINDOW_BYPASSES, TIME_GUARDS
from controller.model import (
    ALLOW,
    Action,
    ApprovalFacts,
    ApprovalMark,
    History,
    MaintainWindow,
    Reason,
    Version,
    block,
)
from controller.settings import Blackout

EXTENDING = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
#: Modules of controller.guards that are machinery, not guards.
NOT_GUARDS = {"decide", "registry", "text"}
#: Made per cycle from its verdicts (`load_spec`), after the registry: tests/load/test_load_guard.py.
PER_CYCLE = {"load", "slot"}

SHANGHAI = window("Mon,Tue,Wed,Thu,Fri", "01:00", "05:00", "Asia/Shanghai")
RECENT = switchover("2026-11-30 10:00", "2026-11-30 10:05")
NOWS = [utc("2026-11-30 12:00"), utc("2026-11-30 18:30"), utc("2026-12-04 23:59")]
CLUSTERS = [
    cluster(),
    cluster(listing_copies=2),
    cluster(status="FAILED"),
    cluster(task_status="ACTIVE_STANDY_SWITCHOVER"),
    cluster(task_status="SNAPSHOTTING"),
    cluster(sub_status=frozenset({"UNBALANCED", "REDISTRIBUTING"})),
    cluster(sub_status=frozenset({"UNBALANCED", "DEGRADED"})),
    cluster(sub_status=frozenset({"UNBALANCED", "READONLY"})),
    cluster(version=Version.parse("8.1.0.0"), raw_version="8.1.0.0"),
    cluster(version=None, raw_version="banana"),
    cluster(tags={"dws-rebalancer": "DISABLED"}),
    cluster(maintain_window=MaintainWindow("Mon", dt.time(18), dt.time(19))),
    cluster(sub_status=frozenset({"NORMAL"})),
]
HISTORIES = [
    History(),
    History(paused=True, pause_reason="incident"),
    History(consecutive_failures=3),
    History(forbidden="denied", consecutive_failures=7),
    History(in_flight_elsewhere=1),
    History(switchovers=(RECENT,), unbalanced_since=utc("2026-11-30 11:58")),
    History(caution_since=utc("2026-11-30 11:00")),
    History(switchovers=(switchover("2026-11-30 11:00", outcome=None),)),
    History(
        approval=ApprovalFacts(
            utc("2026-11-30 11:00"),
            veto=ApprovalMark(1, utc("2026-11-30 11:00"), utc("2026-12-30 00:00"), by="ops"),
        )
    ),
]
POLICIES = [
    policy(),
    policy(windows=[SHANGHAI]),
    policy(use_maintenance_window=True),
    policy(blackouts=[Blackout(start=utc("2026-11-30 11:00"), end=utc("2026-12-05 00:00"))]),
    policy(cooldown="6h", min_unbalanced_duration="10m"),
    policy(max_per_day=0),
    policy(max_per_day=1, max_concurrent=2),
    policy(selection={"exclude": ["sales-*"]}),
    policy(selection={"include": ["etl-*"]}),
    policy(min_version="9.0.0", allow_degraded=True, allow_readonly=True),
    policy(approval="manual"),
    policy(approval="announce"),
]
INPUTS = list(itertools.product(CLUSTERS, HISTORIES, POLICIES, NOWS))


@pytest.mark.parametrize("spec", GUARDS, ids=lambda s: s.name)
def test_every_reason_a_guard_returns_is_declared_in_its_spec_and_reachable(spec):
    seen = set()
    for args in INPUTS:
        result = spec.check(*args)
        if not result.allowed:
            assert result.reason in spec.reasons, (spec.name, result)
            seen.add(result.reason)
    assert seen == spec.reasons  # declared but never returned over the table: a stale spec


def _guard_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(controller.guards.__path__)]
    return sorted(set(names) - NOT_GUARDS - PER_CYCLE)


@pytest.mark.parametrize("module", _guard_modules())
def test_every_guard_module_has_a_spec_in_the_registry_exactly_once(module):
    spec = importlib.import_module(f"controller.guards.{module}").SPEC
    assert isinstance(spec, GuardSpec)
    assert spec.check.__module__ == f"controller.guards.{module}"
    assert [s for s in GUARDS if s is spec] == [spec]


def test_the_registry_holds_only_the_guard_modules_specs_with_unique_names():
    assert len(GUARDS) == len(_guard_modules()) == len({s.name for s in GUARDS})


def test_the_derived_tables_match_the_documented_sets():
    assert {"blackout", "window", "cooldown", "budget"} == IGNORE_WINDOW_BYPASSES
    assert {"debounce", "blackout", "window", "cooldown", "budget", "approval"} == TIME_GUARDS


def test_the_verdict_holds_every_guards_result_and_its_facts_agree_with_them():
    for args in INPUTS:
        verdict = judge(*args)
        if not verdict.results:  # balanced: no guard is asked
            assert verdict.decision.action is Action.NONE
            continue
        assert [name for name, _ in verdict.results] == [s.name for s in GUARDS]
        results = dict(verdict.results)
        first = next((r for _, r in verdict.results if not r.allowed), None)
        assert verdict.decision.reason is (first.reason if first else Reason.ELIGIBLE)
        assert results["window"].allowed is (verdict.window_open is True), args
        # Open breaker: the breaker guard blocks (a 403 is the reason it names first).
        if verdict.breaker_open:
            assert results["breaker"].reason in {Reason.BREAKER_OPEN, Reason.PERMISSION_DENIED}
        else:
            assert results["breaker"].reason is not Reason.BREAKER_OPEN


def test_a_manual_verdict_leaves_out_only_the_bypassed_guards():
    verdict = judge(cluster(), History(), policy(), NOWS[0], ignore_window=True)
    names = [name for name, _ in verdict.results]
    assert names == [s.name for s in GUARDS if not s.bypassable]


def test_balanced_clusters_still_carry_the_facts():
    verdict = judge(
        cluster(sub_status=frozenset()), History(consecutive_failures=5), policy(), NOWS[0]
    )
    assert (verdict.results, verdict.window_open, verdict.breaker_open) == ((), True, True)


def _odd_minute_guard(cluster, history, policy, now):
    if now.minute % 2 == 0:
        return ALLOW
    return block(Reason.BLACKOUT, "odd minute", now.replace(second=0) + dt.timedelta(minutes=1))


TOY = GuardSpec(
    "odd-minute",
    _odd_minute_guard,
    frozenset({Reason.BLACKOUT}),
    lifts_with_time=True,
    bypassable=True,
)


def test_a_new_guard_is_one_spec_and_one_registry_line():
    registry = (*GUARDS, TOY)
    odd = utc("2026-11-30 12:01")
    verdict = judge(cluster(), History(), policy(), odd, registry=registry)
    assert verdict.blocked_by == ("odd-minute",)
    assert (verdict.decision.reason, verdict.next_eligible) == (
        Reason.BLACKOUT,
        utc("2026-11-30 12:02"),
    )
    assert judge(cluster(), History(), policy(), odd).decision.action is Action.SWITCHOVER
    manual = judge(cluster(), History(), policy(), odd, registry=registry, ignore_window=True)
    assert manual.decision.action is Action.SWITCHOVER  # bypassable: skipped by --ignore-window


def _docs_guard_example() -> str:
    text = EXTENDING.read_text(encoding="utf-8")
    section = text[text.index("## A new guard") :]
    section = re.split(r"\n##+ ", section[len("## A new guard") :])[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


def test_the_docs_guard_example_runs_against_the_registry():
    namespace: dict[str, object] = {"__name__": "controller.guards.weekday"}
    exec(compile(_docs_guard_example(), "docs/extending.md", "exec"), namespace)
    spec = namespace["SPEC"]
    assert isinstance(spec, GuardSpec)
    registry = (*GUARDS, spec)
    friday, thursday = utc("2026-12-04 12:00"), utc("2026-12-03 12:00")
    blocked = judge(cluster(), History(), policy(), friday, registry=registry)
    assert blocked.blocked_by == (spec.name,)
    assert blocked.decision.reason in spec.reasons
    assert blocked.next_eligible == utc("2026-12-05 00:00")
    assert judge(cluster(), History(), policy(), thursday, registry=registry).decision.action is (
        Action.SWITCHOVER
    )
