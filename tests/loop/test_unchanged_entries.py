"""Skipping unchanged list entries never freezes a decision that time alone can change.

The cycle keeps the decision of a balanced cluster whose list entry is byte-for-byte the last
one. An unbalanced cluster must be judged again every cycle: for each time-based guard, the
cluster is blocked, the emulator's answer stays exactly the same (the very same `Cluster` object
comes back), the clock passes the block's next_eligible, and the next cycle switches it over.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from loopkit import World
from structlog.testing import capture_logs

from controller.app.bootstrap import Parts
from controller.model import Action, Cluster, Outcome, Reason

ALWAYS: dict[str, Any] = {"windows": [], "use_maintenance_window": False}


def listed(parts: Parts, cluster_id: str) -> Cluster:
    view = parts.reconciler.snapshot.view(cluster_id)
    assert view is not None
    return view.cluster


async def fail_one_switchover(world: World, parts: Parts) -> None:
    """A switchover that leaves the cluster unbalanced: cooldown and budget now count it."""
    report = await world.cycle(parts)
    assert [d.action for d in report.decisions if d.cluster_id == "c1"] == [Action.SWITCHOVER]
    world.advance(seconds=15)
    finished = (await parts.reconciler.track_once(world.clock.now())).finished
    assert [r.outcome for r in finished] == [Outcome.FAILED]
    world.advance(seconds=5)


def in_minutes(world: World, minutes: int) -> str:
    return (world.clock.now() + dt.timedelta(minutes=minutes)).isoformat()


#: guard -> (policy, reason while blocked, whether a failed switchover must happen first)
CASES: dict[str, tuple[Any, Reason, bool]] = {
    "debounce": (lambda w: {**ALWAYS, "min_unbalanced_duration": "10m"}, Reason.DEBOUNCING, False),
    "window": (
        lambda w: {
            "windows": [
                {
                    "start": f"{w.clock.now() + dt.timedelta(minutes=30):%H:%M}",
                    "end": f"{w.clock.now() + dt.timedelta(minutes=90):%H:%M}",
                }
            ],
            "min_unbalanced_duration": "0s",
        },
        Reason.OUTSIDE_WINDOW,
        False,
    ),
    "blackout": (
        lambda w: {
            **ALWAYS,
            "min_unbalanced_duration": "0s",
            "blackouts": [{"start": in_minutes(w, -60), "end": in_minutes(w, 20)}],
        },
        Reason.BLACKOUT,
        False,
    ),
    "cooldown": (
        lambda w: {**ALWAYS, "min_unbalanced_duration": "0s", "cooldown": "1h", "max_per_day": 5},
        Reason.COOLDOWN,
        True,
    ),
    "budget": (
        lambda w: {**ALWAYS, "min_unbalanced_duration": "0s", "cooldown": "0s", "max_per_day": 1},
        Reason.DAILY_BUDGET,
        True,
    ),
}


@pytest.mark.parametrize("guard", sorted(CASES))
async def test_a_time_based_block_lifts_although_the_entry_never_changed(
    world: World, guard: str
) -> None:
    make_policy, reason, after_a_switchover = CASES[guard]
    world.sim.add_cluster(
        id="c1", name="sales", flags={"UNBALANCED"}, switchover_outcome="stay_unbalanced",
        switchover_base_seconds=10,
    )  # fmt: skip
    async with world.controller(policy=make_policy(world)) as parts:
        if after_a_switchover:
            await fail_one_switchover(world, parts)
        (blocked,) = (await world.cycle(parts)).decisions
        assert (blocked.action, blocked.reason) == (Action.BLOCKED, reason)
        assert blocked.next_eligible is not None
        entry = listed(parts, "c1")

        world.clock.advance(blocked.next_eligible - world.clock.now() + dt.timedelta(seconds=1))
        (after,) = (await world.cycle(parts)).decisions

        assert listed(parts, "c1") is entry  # the answer did not change: the entry was reused
        assert (after.action, after.reason) == (Action.SWITCHOVER, Reason.ELIGIBLE)


async def test_a_balanced_unchanged_cluster_keeps_its_decision_without_a_new_event(
    world: World,
) -> None:
    world.sim.add_cluster(id="c1", name="sales")
    async with world.controller(policy=ALWAYS) as parts:
        (first,) = (await world.cycle(parts)).decisions
        with capture_logs() as logs:
            for _ in range(3):  # the walk that keeps it, then the answer seen before: no walk
                world.advance(minutes=5)
                (kept,) = (await world.cycle(parts)).decisions
                assert kept is first  # the very decision, not a new one
        assert [e for e in logs if e["event"] == "decision"] == []
        decisions = parts.metrics.registry.get_sample_value(
            "dws_rebalancer_decisions_total",
            {"dws_cluster": "sales", "action": "none", "reason": "not_unbalanced"},
        )
        assert decisions == 1


async def test_a_changed_entry_is_judged_at_once(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales")
    async with world.controller(policy={**ALWAYS, "min_unbalanced_duration": "0s"}) as parts:
        (first,) = (await world.cycle(parts)).decisions
        assert first.reason is Reason.NOT_UNBALANCED
        world.sim.set("c1", flags=["UNBALANCED"])
        (second,) = (await world.cycle(parts)).decisions
        assert (second.action, second.reason) == (Action.SWITCHOVER, Reason.ELIGIBLE)


async def test_a_kept_cluster_follows_its_window_opening(world: World) -> None:
    """A balanced cluster's window fact (a gauge, /status) moves with time though nothing else does."""
    opens = world.clock.now() + dt.timedelta(minutes=10)
    window = {"start": f"{opens:%H:%M}", "end": f"{opens + dt.timedelta(hours=1):%H:%M}"}
    world.sim.add_cluster(id="c1", name="sales")
    async with world.controller(policy={"windows": [window]}) as parts:
        await world.cycle(parts)
        gauge = "dws_rebalancer_window_open"
        assert parts.metrics.registry.get_sample_value(gauge, {"dws_cluster": "sales"}) == 0
        world.advance(minutes=11)
        await world.cycle(parts)
        assert parts.metrics.registry.get_sample_value(gauge, {"dws_cluster": "sales"}) == 1
        view = parts.reconciler.snapshot.view("c1")
        assert view is not None
        assert view.window_open is True
