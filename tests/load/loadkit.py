"""Shared world of the load tests: an emulated project whose Cloud Eye has known load curves.

`etl` runs a nightly ETL 01:00–03:00 UTC (active SQL 30, CPU 80 on its first node) over a base
of 5 / 20; its nodes carry factors 1, 0.5 and 1.25, so its busiest node is the third one.
`calm` stays at 2 / 10. Times are UTC, so the expected values can be read off the curves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import SecretStr

from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth
from controller.load.cloud_eye import CloudEyeClient, Target
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
