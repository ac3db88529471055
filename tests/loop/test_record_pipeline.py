"""The loop records through the recorder: a durable row that fails stops the POST; snapshots."""

from __future__ import annotations

import dataclasses

import pytest
from loopkit import World

from controller.journal import JournalError
from controller.model import Action

ALWAYS = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}


async def test_no_post_without_the_durable_row(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy=ALWAYS) as parts:

        def disk_full(*_: object, **__: object) -> None:
            raise JournalError("disk full")

        monkeypatch.setattr(parts.journal, "begin_switchover", disk_full)
        with pytest.raises(JournalError, match="disk full"):
            await world.cycle(parts)
    assert world.sim.switchovers == []


async def test_each_cycle_publishes_a_new_immutable_snapshot(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.add_cluster(id="c2", name="etl")
    async with world.controller(policy=ALWAYS) as parts:
        assert parts.reconciler.snapshot.clusters == ()
        await world.cycle(parts)
        first = parts.reconciler.snapshot
        world.advance(minutes=1)
        await world.cycle(parts)
        second = parts.reconciler.snapshot
    assert [v.cluster.name for v in first.clusters] == ["etl", "sales"]
    sales = first.view("c1")
    assert sales is not None
    assert sales.decision is not None
    assert sales.decision.action is Action.SWITCHOVER
    assert sales.tracked is not None  # what the switchovers knew when it was published
    assert second is not first
    assert second.at != first.at
    with pytest.raises(dataclasses.FrozenInstanceError):
        sales.tracked = None  # type: ignore[misc]
