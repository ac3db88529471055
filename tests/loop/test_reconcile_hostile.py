"""Hostile list answers through whole cycles: a duplicated id is never acted on, deep JSON is malformed."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import stamina
from loopkit import World
from structlog.testing import capture_logs

from controller.loop.runner import Runner
from controller.model import Action, Reason
from controller.simulator import render

ALWAYS = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}
DEPTH = 100_000


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


def duplicated_listing(world: World, name: str, busy_task: str) -> dict[str, object]:
    """The world's list answer, with `name` listed twice: first busy with `busy_task`, then idle."""
    now = world.sim.now
    items = [render.list_item(c, i, now) for i, c in enumerate(world.sim.clusters)]
    twin = next(item for item in items if item["name"] == name)
    busy = {**twin, "task_status": busy_task}
    return {"clusters": [busy, *items], "count": len(items) + 1}


async def test_a_duplicated_cluster_id_is_blocked_and_never_posted(world: World) -> None:
    world.sim.add_cluster(id="c-dup", name="sales", flags={"UNBALANCED"})
    world.sim.add_cluster(id="c-ok", name="etl", flags={"UNBALANCED"})
    body = duplicated_listing(world, "sales", "SNAPSHOTTING")
    world.sim.faults.inject("list_clusters", "status", status=200, body=body, times=None)
    async with world.controller(policy={**ALWAYS, "max_concurrent": 2}) as parts:
        report = await world.cycle(parts)
        world.advance(minutes=5)
        again = await world.cycle(parts)
        view = parts.reconciler.snapshot.view("c-dup")
    for cycle in (report, again):
        got = {d.cluster_name: d for d in cycle.decisions}
        assert (got["sales"].action, got["sales"].reason) == (
            Action.BLOCKED,
            Reason.AMBIGUOUS_LISTING,
        )
        assert got["sales"].detail == "cluster id c-dup appears 2 times in one list answer"
    assert [s.cluster_id for s in world.sim.switchovers] == ["c-ok"]  # only the clean one
    assert view is not None
    assert view.decision is not None
    assert view.decision.reason is Reason.AMBIGUOUS_LISTING
    blocked = parts.metrics.registry.get_sample_value(
        "dws_rebalancer_cluster_blocked", {"dws_cluster": "sales", "reason": "ambiguous_listing"}
    )
    assert blocked == 1


async def test_a_duplicated_balanced_cluster_is_blocked_too(world: World) -> None:
    world.sim.add_cluster(id="c-dup", name="sales", flags={"NORMAL"})
    body = duplicated_listing(world, "sales", "")
    world.sim.faults.inject("list_clusters", "status", status=200, body=body, times=None)
    async with world.controller(policy=ALWAYS) as parts:
        (decision,) = (await world.cycle(parts)).decisions
    assert (decision.action, decision.reason) == (Action.BLOCKED, Reason.AMBIGUOUS_LISTING)


async def test_status_preview_shows_the_ambiguous_listing(world: World) -> None:
    world.sim.add_cluster(id="c-dup", name="sales", flags={"UNBALANCED"})
    body = duplicated_listing(world, "sales", "SNAPSHOTTING")
    world.sim.faults.inject("list_clusters", "status", status=200, body=body, times=None)
    async with world.controller(policy=ALWAYS) as parts:
        (view,) = await parts.reconciler.preview(world.clock.now(), world.clock.now())
    assert view.decision is not None
    assert view.decision.reason is Reason.AMBIGUOUS_LISTING
    assert world.sim.switchovers == []


async def test_deeply_nested_json_fails_the_cycle_as_malformed_without_a_traceback(
    world: World,
) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    nested = b'{"clusters": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    world.sim.faults.inject("list_clusters", "malformed", body=nested)
    async with world.controller(policy=ALWAYS) as parts:
        runner = Runner(parts.reconciler, world.clock, rng=random.Random(7))
        with capture_logs() as logs:
            assert await runner.cycle() is False
    (failed,) = [e for e in logs if e["event"] == "cycle_failed"]
    assert failed["kind"] == "malformed_response"
    assert failed["exc_info"] is False
    assert failed["error"] == "list_clusters: HTTP 200 with JSON nested too deeply"
    assert runner.last_error == f"malformed_response: {failed['error']}"
    errors = parts.metrics.registry.get_sample_value
    assert errors("dws_rebalancer_cycle_errors_total", {"kind": "malformed_response"}) == 1
    assert errors("dws_rebalancer_cycle_errors_total", {"kind": "internal"}) == 0
    assert world.sim.switchovers == []


async def test_a_switchover_acked_with_a_non_json_body_is_counted(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.faults.inject("switchover", "malformed", body=b"<html>accepted</html>")
    async with world.controller(policy=ALWAYS) as parts:
        with capture_logs() as logs:
            report = await world.cycle(parts)
        count = parts.metrics.registry.get_sample_value(
            "dws_rebalancer_api_unexpected_responses_total",
            {"operation": "switchover", "kind": "not_json"},
        )
    assert [(d.action, d.reason) for d in report.decisions] == [
        (Action.SWITCHOVER, Reason.ELIGIBLE)
    ]
    assert [r.confirmed for r in report.started] == [True]  # accepted: the 200 says so
    assert count == 1
    assert [e["event"] for e in logs].count("switchover_response_not_json") == 1
    assert world.sim.counts["switchover"] == 1
