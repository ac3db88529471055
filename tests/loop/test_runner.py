"""The runner: bad cycles are survived and backed off, stop is prompt, an in-flight POST completes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
import stamina
from loopkit import MONDAY_0050_CST, World

from controller.clock import ScaledClock
from controller.runner import Runner, error_kind

SPEED = 600.0  # a 60 s poll interval lasts 0.1 s of real time


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=2)
    yield
    stamina.set_testing(False)


@pytest.fixture
def fast_world(world: World) -> World:
    world.clock = ScaledClock(MONDAY_0050_CST, SPEED)  # type: ignore[assignment]
    world.sim.clock = world.clock
    return world


async def run_until(runner: Runner, stop: asyncio.Event, condition: object, timeout: float) -> None:
    task = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # type: ignore[operator]
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_a_failing_cycle_is_counted_backed_off_and_survived(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales")
    world.sim.faults.inject("list_clusters", "html_503", times=4)  # two cycles × two attempts
    async with world.controller() as parts:
        runner = Runner(
            parts.reconciler, parts.metrics, world.clock, time_scale=SPEED, rng=random.Random(7)
        )
        await run_until(runner, asyncio.Event(), lambda: runner.last_success is not None, 10)
    assert world.sim.counts["list_clusters"] >= 5
    assert runner.failures == 0
    scrape = parts.metrics.registry.get_sample_value(
        "dws_rebalancer_cycle_errors_total", {"kind": "dws_api"}
    )
    assert scrape == 2


async def test_stop_while_sleeping_returns_promptly(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales")
    async with world.controller(poll_interval="1h") as parts:
        runner = Runner(parts.reconciler, parts.metrics, world.clock, time_scale=1.0)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while runner.last_success is None:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=1)


async def test_stop_lets_an_in_flight_post_complete_and_be_journaled(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.faults.inject("switchover", "latency", seconds=0.5)
    policy = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}
    async with world.controller(policy=policy) as parts:
        runner = Runner(parts.reconciler, parts.metrics, world.clock, time_scale=SPEED)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while not parts.journal.in_flight():  # journaled just before the POST is sent
            await asyncio.sleep(0.005)
        stop.set()  # the POST is on the wire now
        await asyncio.wait_for(task, timeout=10)
        [record] = parts.journal.in_flight()
        assert record.confirmed, "the answer arrived after stop and was recorded"
        assert parts.reconciler.stopping
    assert world.sim.counts["switchover"] == 1


async def test_tracking_polls_fast_and_only_the_tracked_cluster(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=40)
    world.sim.add_cluster(id="c2", name="etl")
    policy = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}
    async with world.controller(
        policy=policy, poll_interval="10m", tracking_interval="5s"
    ) as parts:
        runner = Runner(parts.reconciler, parts.metrics, world.clock, time_scale=SPEED)
        await run_until(
            runner,
            asyncio.Event(),
            lambda: parts.journal.switchovers() and not parts.reconciler.tracked,
            10,
        )
        [record] = parts.journal.switchovers()
    assert record.outcome is not None
    assert record.outcome.value == "succeeded"
    assert world.sim.counts["list_clusters"] == 1, "tracking does not list the project"
    assert world.sim.counts["get_cluster"] >= 5


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("AuthenticationError", "dws_auth"),
        ("ServerError", "dws_api"),
        ("DwsTransportError", "dws_transport"),
        ("MalformedResponseError", "malformed_response"),
    ],
)
def test_error_kinds(error: str, kind: str) -> None:
    import controller.dws.errors as errors

    cls = getattr(errors, error)
    exc = cls.__new__(cls)
    assert error_kind(exc) == kind


def test_internal_errors_are_their_own_kind() -> None:
    assert error_kind(RuntimeError("bug")) == "internal"
