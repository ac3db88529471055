"""Approvals in the loop, against the emulator over a real socket on the manual clock.

announce → veto → the next window's slot → run; manual approvals used once and expiring; the
approval-state metric; and `stuck` once per unbalanced episode.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from loopkit import World

from controller.app.bootstrap import Parts, assemble
from controller.journal import ApprovalKind, Journal
from controller.loop import operator
from controller.model import Reason, Trigger
from controller.record.events import ClusterStuck, Event, SwitchoverPlanned
from controller.settings import Settings
from controller.simulator.server import BackgroundServer

HOUR = dt.timedelta(hours=1)
#: The end of Monday's default window (01:00–05:00 Shanghai), in UTC.
MONDAY_WINDOW_END = dt.datetime(2026, 11, 29, 21, 0, tzinfo=dt.UTC)
TUESDAY_0100 = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)


class Heard:
    """A sink keeping the events people would be told about."""

    durable = False

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        if isinstance(event, SwitchoverPlanned | ClusterStuck):
            self.events.append(event)


@pytest.fixture
def emulator(world: World) -> Iterator[str]:
    with BackgroundServer(world.sim) as server:
        yield server.url


@contextlib.asynccontextmanager
async def controller(
    world: World, url: str, heard: Heard, **overrides: Any
) -> AsyncIterator[tuple[Parts, Settings]]:
    settings = world.make_settings(endpoint=url, **overrides)
    async with assemble(settings, clock=world.clock, sinks=[heard]) as parts:
        yield parts, settings


def beside(world: World) -> Journal:
    """The CLI's own connection to the journal the running controller holds."""
    return Journal.open(world.journal_path, now=world.clock.now())


async def test_announce_then_veto_then_the_next_windows_slot(world: World, emulator: str) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    heard = Heard()
    async with controller(world, emulator, heard, policy={"approval": "announce"}) as (
        parts,
        settings,
    ):
        report = await world.cycle(parts)  # Monday 00:50 Shanghai: the window opens at 01:00
        [planned] = heard.events
        assert isinstance(planned, SwitchoverPlanned)
        slot = world.clock.now() + HOUR
        assert (planned.slot, planned.until) == (slot, MONDAY_WINDOW_END)
        assert report.decisions[0].next_eligible == slot

        world.advance(minutes=15)
        [decision] = (await world.cycle(parts)).decisions
        assert (decision.reason, decision.next_eligible) == (Reason.ANNOUNCED, slot)

        with beside(world) as cli:
            said = operator.veto(cli, settings, "sales", now=world.clock.now(), by="alice")
        assert said.entry.until == MONDAY_WINDOW_END  # that slot only: the rest of its window
        world.advance(minutes=1)
        [decision] = (await world.cycle(parts)).decisions
        # The veto lasts until the window closes: the next chance is Tuesday's window (01:00).
        assert (decision.reason, decision.next_eligible) == (Reason.VETOED, TUESDAY_0100)

        world.clock.set(slot + dt.timedelta(minutes=1))
        assert [d.reason for d in (await world.cycle(parts)).decisions] == [Reason.VETOED]
        assert world.sim.counts["switchover"] == 0

        world.clock.set(MONDAY_WINDOW_END + dt.timedelta(minutes=1))  # veto over, window shut
        [decision] = (await world.cycle(parts)).decisions
        assert decision.reason is Reason.OUTSIDE_WINDOW
        assert len(heard.events) == 1, "announced lead before the next window, not now"

        world.clock.set(TUESDAY_0100 - HOUR)
        await world.cycle(parts)
        second = heard.events[-1]
        assert isinstance(second, SwitchoverPlanned)
        assert second.slot == TUESDAY_0100

        world.clock.set(second.slot)
        report = await world.cycle(parts)
        [started] = report.started
        assert started.trigger is Trigger.CONTROLLER
    with beside(world) as cli:
        rows = cli.approval_entries(cluster_id="c1")
    kinds = [(r.kind, r.switchover_id) for r in rows]
    assert kinds == [
        (ApprovalKind.ANNOUNCEMENT, None),
        (ApprovalKind.VETO, None),
        (ApprovalKind.ANNOUNCEMENT, started.id),
    ]
    assert world.sim.counts["switchover"] == 1


MANUAL = {"approval": "manual", "windows": [], "use_maintenance_window": False,
          "min_unbalanced_duration": "0s", "cooldown": "0s", "max_per_day": 10}  # fmt: skip


async def test_an_approval_is_used_by_one_switchover(world: World, emulator: str) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=30)
    async with controller(world, emulator, Heard(), policy=MANUAL) as (parts, settings):
        [decision] = (await world.cycle(parts)).decisions
        assert decision.reason is Reason.AWAITING_APPROVAL
        assert _state(parts) == {("sales", "awaiting_approval")}
        with beside(world) as cli:
            approval = operator.approve(cli, settings, "c1", now=world.clock.now(), by="bob")
        world.advance(seconds=10)
        [started] = (await world.cycle(parts)).started
        world.advance(minutes=5)
        await world.cycle(parts)  # the switchover ended
        world.sim.unbalance("sales")
        world.advance(minutes=1)
        [decision] = (await world.cycle(parts)).decisions
        assert decision.reason is Reason.AWAITING_APPROVAL, "used up by the first switchover"
    with beside(world) as cli:
        [row] = cli.approval_entries(cluster_id="c1")
    assert (row.id, row.switchover_id, row.by) == (approval.entry.id, started.id, "bob")
    assert world.sim.counts["switchover"] == 1


async def test_an_approval_expires(world: World, emulator: str) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with controller(world, emulator, Heard(), policy=MANUAL) as (parts, settings):
        await world.cycle(parts)
        with beside(world) as cli:
            until = world.clock.now() + dt.timedelta(minutes=10)
            operator.approve(cli, settings, "sales", now=world.clock.now(), by="bob", until=until)
        world.advance(minutes=11)
        [decision] = (await world.cycle(parts)).decisions
        assert decision.reason is Reason.AWAITING_APPROVAL
    assert world.sim.counts["switchover"] == 0


async def test_stuck_once_per_episode_and_again_after_a_rebalance(
    world: World, emulator: str
) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    heard = Heard()
    notify = {"stuck_after": "1h"}
    async with controller(world, emulator, heard, policy=MANUAL, notify=notify) as (parts, _):
        await world.cycle(parts)
        world.advance(minutes=30)
        await world.cycle(parts)
        assert heard.events == []
        world.advance(minutes=31)
        await world.cycle(parts)
        world.advance(minutes=5)
        await world.cycle(parts)
        [first] = heard.events
        assert isinstance(first, ClusterStuck)
        assert (first.cluster_name, first.reason) == ("sales", "awaiting_approval")
        assert "dws-rebalancer approve sales" in first.detail
        world.sim.balance("sales")
        world.advance(minutes=1)
        await world.cycle(parts)
        world.sim.unbalance("sales")
        world.advance(minutes=1)
        await world.cycle(parts)
        world.advance(minutes=61)
        await world.cycle(parts)
        assert len(heard.events) == 2
        second = heard.events[1]
        assert isinstance(second, ClusterStuck)
        assert second.since > first.since


def _state(parts: Parts) -> set[tuple[str, str]]:
    table = parts.metrics.clusters.approval_state
    return {labels for labels, value in table.values.items() if value == 1}
