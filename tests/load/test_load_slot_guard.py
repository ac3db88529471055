"""The quietest-slot guard: held until the quietest allowed hour, which is the decision's
next_eligible, known in advance; no profile is `load_unknown`. Judged with the registry's guards,
including weeks that cross a DST change in the window's zone."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pytest

from controller.guards.decide import judge
from controller.guards.registry import GUARDS, with_spec
from controller.guards.slot import REASONS, Planner, slot_guard, slot_spec
from controller.load.profile import Profile, quietest
from controller.model import Action, Cluster, History, Reason, Version
from controller.settings import EffectivePolicy

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
HOUR = dt.timedelta(hours=1)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
CLUSTER = Cluster(
    id="c-1",
    name="etl",
    status="AVAILABLE",
    sub_status=frozenset({"UNBALANCED"}),
    version=Version.parse("8.2.1.230"),
    raw_version="8.2.1.230",
)
LIMITS = {"dws010_cpu_usage": 60.0}


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def policy(zone: ZoneInfo = UTC, start: int = 0, end: int = 6, **extra: object) -> EffectivePolicy:
    """Every other guard allows; the window is every day start..end local time in `zone`."""
    window = {"start": f"{start:02d}:00", "end": f"{end:02d}:00", "timezone": zone.key}
    fields: dict[str, object] = {
        "windows": [window],
        "min_unbalanced_duration": 0,
        "cooldown": 0,
        "load": {"schedule": "quietest", "cloud_eye": {"limits": LIMITS}},
        **extra,
    }
    return EffectivePolicy.model_validate(fields)


def planner(zone: ZoneInfo, quiet: dict[tuple[int, int], float]) -> Planner:
    """A profile at load 1.0 in every hour of the week except the `quiet` ones."""
    expected = {(d, h): quiet.get((d, h), 1.0) for d in range(7) for h in range(24)}
    profile = Profile(zone, expected, utc(2026, 3, 1), 28 * 24 * HOUR)
    return functools.partial(quietest, profile)


def registry(planners: dict[str, Planner | str]) -> tuple:
    return with_spec(GUARDS, slot_spec(planners), after="blackout")


@pytest.mark.parametrize(
    ("now", "planners", "pol", "reason", "next_eligible", "detail"),
    [
        pytest.param(
            utc(2026, 3, 4, 12), {"c-1": planner(UTC, {(THU, 3): 0.1})}, policy(),
            Reason.AWAITING_QUIET_SLOT, utc(2026, 3, 5, 3),
            "the quietest allowed hour is Thu 03:00 local, at 2026-03-05 03:00 UTC, expected"
            " load 0.10 of the tightest limit",
            id="held until the quietest hour inside the window",
        ),
        pytest.param(
            utc(2026, 3, 5, 3, 40), {"c-1": planner(UTC, {(THU, 3): 0.1})}, policy(),
            None, None, None, id="inside the chosen hour: allowed",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), {"c-1": planner(UTC, {(THU, 9): 0.0, (FRI, 2): 0.3})}, policy(),
            Reason.AWAITING_QUIET_SLOT, utc(2026, 3, 6, 2), None,
            id="a quieter hour outside the window is never chosen",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), {"c-1": planner(UTC, {(THU, 9): 0.0})},
            policy(windows=[], use_maintenance_window=False),
            Reason.AWAITING_QUIET_SLOT, utc(2026, 3, 5, 9), None,
            id="no windows: any hour of the week",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), {}, policy(), Reason.LOAD_UNKNOWN, None,
            "no load profile for the cluster yet", id="no planner: fail closed",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), {"c-1": "cloud_eye: HTTP 503"}, policy(),
            Reason.LOAD_UNKNOWN, None, "no load profile: cloud_eye: HTTP 503",
            id="the profile could not be built: fail closed, saying why",
        ),
        pytest.param(
            utc(2026, 3, 5, 3), {"c-1": "-"}, policy(load={}), None, None, None,
            id="schedule window: the guard does not apply",
        ),
    ],
)  # fmt: skip
def test_the_slot_decision(
    now: dt.datetime,
    planners: dict[str, Planner | str],
    pol: EffectivePolicy,
    reason: Reason | None,
    next_eligible: dt.datetime | None,
    detail: str | None,
) -> None:
    verdict = judge(CLUSTER, History(), pol, now, registry=registry(planners))
    decision = verdict.decision
    if reason is None:
        assert (decision.action, decision.reason) == (Action.SWITCHOVER, Reason.ELIGIBLE)
        return
    assert (decision.action, decision.reason) == (Action.BLOCKED, reason)
    assert decision.next_eligible == next_eligible
    if detail is not None:
        assert decision.detail == detail


def test_the_slot_is_the_same_local_hour_across_the_dst_change() -> None:
    """Europe/Berlin springs forward on 2026-03-29: 03:00 local is 02:00 UTC before, 01:00 after."""
    planners: dict[str, Planner | str] = {"c-1": planner(BERLIN, {(MON, 3): 0.1})}
    pol = policy(BERLIN, 1, 5)
    before = judge(CLUSTER, History(), pol, utc(2026, 3, 20, 12), registry=registry(planners))
    after = judge(CLUSTER, History(), pol, utc(2026, 3, 27, 12), registry=registry(planners))
    assert before.decision.next_eligible == utc(2026, 3, 23, 2)  # Mon 03:00 CET
    assert after.decision.next_eligible == utc(2026, 3, 30, 1)  # Mon 03:00 CEST, after the change
    assert after.decision.detail.startswith("the quietest allowed hour is Mon 03:00 local")


def test_a_week_holding_the_spring_gap_never_chooses_the_missing_hour() -> None:
    """02:00 does not exist in Berlin on 2026-03-29, and next Sunday's lies beyond the week ahead:
    the quiet slot is out of reach, the other hours tie, and the earliest allowed one wins."""
    planners: dict[str, Planner | str] = {"c-1": planner(BERLIN, {(SUN, 2): 0.0})}
    pol = policy(BERLIN, 0, 6)
    verdict = judge(CLUSTER, History(), pol, utc(2026, 3, 28, 12), registry=registry(planners))
    assert verdict.decision.next_eligible == utc(2026, 3, 28, 23)  # Sun 00:00 CET
    assert "Sun 00:00 local" in verdict.decision.detail


def test_the_projection_moves_past_the_slot_when_debounce_outlasts_it() -> None:
    """Debounce ends after this week's quiet hour: next_eligible is the quietest hour of the week
    from then on, the same hour a week later, rather than Friday's louder one."""
    planners: dict[str, Planner | str] = {"c-1": planner(UTC, {(THU, 3): 0.1, (FRI, 4): 0.2})}
    pol = policy(min_unbalanced_duration="20h")
    history = History(unbalanced_since=utc(2026, 3, 4, 12))
    verdict = judge(CLUSTER, history, pol, utc(2026, 3, 4, 12), registry=registry(planners))
    assert verdict.decision.reason is Reason.DEBOUNCING  # the first blocker names the reason
    assert verdict.decision.next_eligible == utc(2026, 3, 12, 3)  # Thu 03:00 a week later


def test_a_manual_switchover_skips_the_slot_but_not_the_safety_guards() -> None:
    spec = slot_spec({})
    assert (spec.bypassable, spec.lifts_with_time, spec.reasons) == (True, True, REASONS)
    verdict = judge(
        CLUSTER, History(), policy(), utc(2026, 3, 4, 12), ignore_window=True,
        registry=registry({}),
    )  # fmt: skip
    assert verdict.decision.action is Action.SWITCHOVER
    asked = dict(verdict.results)
    assert "quiet_slot" not in asked
    assert {"state", "version", "breaker", "concurrency"} <= asked.keys()


def test_one_search_per_cluster_and_instant() -> None:
    calls = []

    def counting(now: dt.datetime, allowed: object) -> None:
        calls.append(now)

    check = slot_guard({"c-1": counting})
    for _ in range(3):
        check(CLUSTER, History(), policy(), utc(2026, 3, 4, 12))
    check(CLUSTER, History(), policy(), utc(2026, 3, 4, 13))
    assert calls == [utc(2026, 3, 4, 12), utc(2026, 3, 4, 13)]
