"""`/status` from a real runner: the controller summary first, each cluster's last switchover, and
every field documented in the "/status fields" tables of docs/observability.md."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from loopkit import MONDAY_0050_CST, World

from controller import __version__
from controller.clock import ScaledClock
from controller.http.status import ControllerStatus, FleetStatus
from controller.loop.runner import Runner

DOCS = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
SPEED = 600.0
SWITCHOVER_FIELDS = ("tracked_switchover", "last_switchover")


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=2)
    yield
    stamina.set_testing(False)


async def wait_for(condition: Any, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def snapshots(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """/status while a switchover is in flight, and once it finished."""
    world.clock = ScaledClock(MONDAY_0050_CST, SPEED)  # type: ignore[assignment]
    world.sim.clock = world.clock
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=40)
    world.sim.add_cluster(id="c2", name="etl")
    policy = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}
    async with world.controller(policy=policy, poll_interval="10m") as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=SPEED)
        status = FleetStatus({"default": runner})  # what `run` serves
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            await wait_for(lambda: parts.reconciler.tracked)
            in_flight = status.status()
            await wait_for(lambda: parts.journal.switchovers() and not parts.reconciler.tracked)
            finished = status.status()
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
    return in_flight, finished


async def test_status_puts_the_controller_summary_first_and_shows_the_last_switchover(
    world: World,
) -> None:
    in_flight, finished = await snapshots(world)
    assert list(finished) == ["controller", "targets", "clusters"]
    assert [t["name"] for t in finished["targets"]] == ["default"]
    controller = finished["controller"]
    assert list(controller)[:6] == [
        "version",
        "started",
        "poll_interval",
        "tracking_interval",
        "dry_run",
        "paused",
    ]
    assert controller["version"] == __version__
    assert controller["started"] is not None
    assert controller["poll_interval"] == "10m"
    assert controller["paused"] is False
    assert controller["last_cycle"]["ok"] is True
    assert controller["last_cycle"]["at"] == controller["last_success"]
    assert controller["last_error"] is None
    assert controller["consecutive_failures"] == 0
    sales = next(c for c in finished["clusters"] if c["name"] == "sales")
    assert sales["tracked_switchover"] is None
    assert sales["last_switchover"]["outcome"] == "succeeded"
    assert sales["last_switchover"]["interruption_seconds"] > 0
    sales_then = next(c for c in in_flight["clusters"] if c["name"] == "sales")
    assert sales_then["last_switchover"]["outcome"] is None, "in flight"
    assert sales_then["tracked_switchover"]["id"] == sales_then["last_switchover"]["id"]
    etl = next(c for c in finished["clusters"] if c["name"] == "etl")
    assert etl["last_switchover"] is None


async def test_status_records_a_failed_cycle(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales")
    world.sim.faults.inject("list_clusters", "html_503", times=None)
    async with world.controller() as parts:
        runner = Runner(parts.reconciler, world.clock)
        assert await runner.cycle() is False
        controller = ControllerStatus(runner).status()["controller"]
    assert controller["last_cycle"]["ok"] is False
    assert controller["last_cycle"]["error"].startswith("dws_api: ")
    assert controller["last_cycle"]["error"] == controller["last_error"]
    assert controller["last_success"] is None
    assert controller["consecutive_failures"] == 1


def paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every field path of a status document: `controller.last_cycle.ok`, `clusters[].name`."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}{key}"
            yield path
            if key in SWITCHOVER_FIELDS and item is not None:
                yield from (f"switchover:{p}" for p in paths(item))
            else:
                yield from paths(item, f"{path}.")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield from paths(item, f"{prefix.rstrip('.')}[].")


def documented() -> set[str]:
    """The backticked names in the first column of the docs' two /status tables."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### `/status` fields", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        row = re.match(r"\| (`[^|]+`) \|", line)
        if row is None:
            continue
        switchover_table = not row.group(1).startswith(("`controller", "`clusters", "`targets"))
        for name in re.findall(r"`([^`]+)`", row.group(1)):
            names.add(f"switchover:{name}" if switchover_table else name)
    return names


async def test_every_status_field_is_documented_in_the_readme(world: World) -> None:
    in_flight, finished = await snapshots(world)
    fields = set(paths(in_flight)) | set(paths(finished))
    assert "switchover:interruption_seconds" in fields, "both nested objects were seen"
    assert "controller.last_cycle.ok" in fields
    assert sorted(fields - documented()) == [], "fields missing from the docs' table"
    assert sorted(documented() - fields) == [], "the docs document fields /status lacks"
