"""How soon the running loop acts and sees the end: bounds stated in the loop's own (virtual) time.

Once the guards allow, the POST follows within one poll interval; a finished switchover is seen
within the tracking interval plus a second. The clock runs 60 times faster than real time, so a
virtual second is 17 ms of real time: far more than one step of the loop costs.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from loopkit import MONDAY_0050_CST, World

from controller.clock import ScaledClock
from controller.loop.runner import Runner
from controller.model import SwitchoverRecord

SPEED = 60.0
POLL, TRACKING = dt.timedelta(seconds=60), dt.timedelta(seconds=5)
SLACK = dt.timedelta(seconds=1)  # scheduling on a loaded machine, in virtual time


@pytest.fixture
def scaled(world: World) -> World:
    world.clock = ScaledClock(MONDAY_0050_CST, SPEED)  # type: ignore[assignment]
    world.sim.clock = world.clock
    return world


async def run_until_finished(
    world: World, *, debounce: str, seconds: float
) -> list[SwitchoverRecord]:
    """Run the real loop until the switchover it triggers has ended; its journal rows."""
    policy = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": debounce}
    async with world.controller(
        policy=policy, poll_interval="60s", tracking_interval="5s"
    ) as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=SPEED)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            async with asyncio.timeout(seconds):
                while not (parts.journal.switchovers() and not parts.reconciler.tracked):
                    await asyncio.sleep(0.005)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
        return parts.journal.switchovers()


async def test_the_post_follows_within_one_poll_interval_once_the_guards_allow(
    scaled: World,
) -> None:
    scaled.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=10)
    first_seen = scaled.clock.now()
    (record,) = await run_until_finished(scaled, debounce="150s", seconds=30)
    allowed = first_seen + dt.timedelta(seconds=150)
    assert allowed <= record.started <= allowed + POLL + SLACK


async def test_a_finished_switchover_is_seen_within_the_tracking_interval_and_a_second(
    scaled: World,
) -> None:
    scaled.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=40)
    (record,) = await run_until_finished(scaled, debounce="0s", seconds=30)
    (post,) = scaled.sim.switchovers
    really_ended = post.at + dt.timedelta(seconds=40)
    assert record.ended is not None
    assert really_ended <= record.ended <= really_ended + TRACKING + SLACK
