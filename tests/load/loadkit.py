"""Shared world of the load tests: an emulated project whose Cloud Eye has known load curves.

`etl` runs a nightly ETL 01:00–03:00 UTC (active SQL 30, CPU 80 on its first node) over a base
of 5 / 20; its nodes carry factors 1, 0.5 and 1.25, so its busiest node is the third one.
`calm` stays at 2 / 10. Times are UTC, so the expected values can be read off the curves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from controller.app.bootstrap import Parts, assemble
from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth
from controller.load.cloud_eye import CloudEyeClient, Target
from controller.model import Action, Reason
from controller.settings import Settings
from controller.simulator import render
from controller.simulator.app import create_app
from controller.simulator.cloudeye import CloudEyeSpec
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator

#: A Tuesday noon, inside nobody's peak; `at()` instants come later.
START = dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC)
PROJECT = "0a1b2c3d4e5f40d5a7d5c2d6e7f8a9b0"
AK = "LOADAK0123456789ABCD"
SK = "load-SK-secret-value-0123456789"
ETL = "5e0c6a58-9d7b-4c3f-8a21-0d4c7e1b2a01"
CALM = "9a3b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
BASE = "http://ces.sim"
TIMEOUT = 0.25

CURVES: dict[str, Any] = {
    "clusters": {
        "etl": {
            "timezone": "UTC",
            "metrics": {
                "dws008_active_sql_count": {
                    "base": 5,
                    "peaks": [{"start": "01:00", "end": "03:00", "value": 30}],
                },
                "dws010_cpu_usage": {
                    "base": 20,
                    "peaks": [{"start": "01:00", "end": "03:00", "value": 80}],
                },
            },
            "node_factors": [1.0, 0.5, 1.25],
        },
        "calm": {
            "metrics": {
                "dws008_active_sql_count": {"base": 2},
                "dws010_cpu_usage": {"base": 10},
            }
        },
    }
}


def world(clock: ManualClock, **cloud_eye: Any) -> Simulator:
    sim = Simulator(clock, project_id=PROJECT, ak=AK, sk=SK)
    sim.add_cluster(id=ETL, name="etl", flags={"UNBALANCED"})
    sim.add_cluster(id=CALM, name="calm", flags={"UNBALANCED"})
    CloudEyeSpec.model_validate({**CURVES, **cloud_eye}).install(
        sim.cloud_eye, {"etl": ETL, "calm": CALM}
    )
    return sim


def node_ids(sim: Simulator, cluster_id: str) -> tuple[str, ...]:
    """The node ids the DWS answer lists for the cluster (the emulator's own rendering)."""
    cluster = sim.cluster(cluster_id)
    return tuple(n["id"] for n in render.detail(cluster, sim.now)["nodes"])


def target(sim: Simulator, cluster_id: str) -> Target:
    return Target(cluster_id, node_ids(sim, cluster_id))


def aksk(clock: ManualClock, sk: str = SK) -> AkSkAuth:
    return AkSkAuth(AK, SecretStr(sk), project_id=PROJECT, clock=clock)


def in_process(
    sim: Simulator, clock: ManualClock, *, cap: int = 10, sk: str = SK, timeout: float = TIMEOUT
) -> CloudEyeClient:
    """Our CES client, talking to the emulator in-process (signed with the emulator's keys)."""
    return CloudEyeClient(
        endpoint=BASE,
        project_id=PROJECT,
        auth=aksk(clock, sk),
        timeout=timeout,
        max_metrics_per_call=cap,
        transport=SimulatorTransport(create_app(sim, wall_clock=clock)),
    )


def at(hour: int, minute: int = 0, day: int = 4) -> dt.datetime:
    """An instant in March 2026, UTC."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


#: The limits of the loop tests, and the emulator's name for a batch call.
LIMITS = {"dws008_active_sql_count": 20.0, "dws010_cpu_usage": 60.0}
BATCH = "ces_batch_query"


def settings(tmp: Path, **policy: Any) -> Settings:
    """Every clock guard lets go (no window, no debounce) unless `policy` says otherwise."""
    load = policy.pop("load", {})
    return Settings(
        endpoint="http://dws.emulator.test",
        project_id=PROJECT,
        auth={"ak": AK, "sk": SK},
        journal_path=tmp / "journal.db",
        policy={
            "windows": [],
            "use_maintenance_window": False,
            "min_unbalanced_duration": "0s",
            "max_concurrent": 2,
            "load": {"cloud_eye": {"endpoint": BASE, "limits": LIMITS}, **load},
            **policy,
        },
    )


@contextlib.asynccontextmanager
async def controller(
    sim: Simulator, clock: ManualClock, tmp: Path, **policy: Any
) -> AsyncIterator[Parts]:
    """The controller's own parts on `tmp`'s journal, against the emulator in-process."""
    transport = SimulatorTransport(create_app(sim))
    async with assemble(settings(tmp, **policy), clock=clock, transport=transport) as parts:
        yield parts


def decisions(report: Any) -> dict[str, tuple[Action, Reason, str]]:
    return {d.cluster_id: (d.action, d.reason, d.detail) for d in report.decisions}
