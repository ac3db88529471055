"""A fleet end to end: `run`'s own service against two emulated regions on real sockets, three
targets (two projects in one region, one in another), one of them failing.

The failing target (its secret key is wrong: every call is a 401) counts its own errors and
backs off on its own; the other two keep polling and switching over. Every metric carries its
target's labels, every log line of a target's cycle its `dws_target`, and `/status` lists the
targets with their own cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from controller.app.service import serve_controller
from controller.clock import SystemClock
from controller.loop.fleet import FleetRunner
from controller.settings import Settings
from controller.simulator.region import Region
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

AK, SK = "FLEETAK0000000000001", "fleet-secret-key-value"
UNBALANCED = {"UNBALANCED"}


def project(project_id: str, *clusters: str) -> Simulator:
    sim = Simulator(SystemClock(), project_id=project_id, ak=AK, sk=SK)
    for name in clusters:
        sim.add_cluster(
            id=f"{project_id}-{name}", name=name, flags=UNBALANCED, switchover_base_seconds=1
        )
    return sim


@pytest.fixture
def regions() -> Iterator[tuple[dict[str, Simulator], str, str]]:
    sims = {
        "bj-prod": project("p-bj-prod", "sales", "etl"),
        "bj-test": project("p-bj-test", "sales"),
        "sh-prod": project("p-sh-prod", "sales"),
    }
    beijing = Region("cn-north-4", [sims["bj-prod"], sims["bj-test"]])
    with (
        BackgroundServer(beijing) as bj,
        BackgroundServer(Region("cn-east-3", [sims["sh-prod"]])) as sh,
    ):
        yield sims, bj.url, sh.url


def fleet_settings(tmp: Path, bj: str, sh: str, port: int) -> Settings:
    return Settings(
        auth={"ak": AK, "sk": SK},
        journal_path=tmp / "journal.db",
        listen=f"127.0.0.1:{port}",
        poll_interval="1s",
        tracking_interval="0.5s",
        log_format="json",
        policy={
            "windows": [],
            "use_maintenance_window": False,
            "min_unbalanced_duration": "0s",
            "cooldown": "0s",
            "max_concurrent": 2,
        },
        targets=[
            {"name": "bj-prod", "region": "cn-north-4", "endpoint": bj, "project_id": "p-bj-prod"},
            {
                "name": "bj-test",
                "region": "cn-north-4",
                "endpoint": bj,
                "project_id": "p-bj-test",
                "auth": {"ak": AK, "sk": "not-the-secret-key"},  # every call a 401
            },
            {"name": "sh-prod", "region": "cn-east-3", "endpoint": sh, "project_id": "p-sh-prod"},
        ],
    )


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[dict[str, FleetRunner]]:
    stop, ready = asyncio.Event(), asyncio.Event()
    got: dict[str, FleetRunner] = {}

    def on_ready(runners: FleetRunner, _: Any) -> None:
        got["fleet"] = runners
        ready.set()

    task = asyncio.create_task(
        serve_controller(settings, stop=stop, on_ready=on_ready, handle_signals=False)
    )
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield got
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def until(condition: Any, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.1)


async def test_three_targets_two_regions_one_failing_the_others_switch_over(
    regions: tuple[dict[str, Simulator], str, str], tmp_path: Path, unused_tcp_port: int
) -> None:
    sims, bj, sh = regions
    settings = fleet_settings(tmp_path, bj, sh, unused_tcp_port)
    base = f"http://127.0.0.1:{unused_tcp_port}"
    # As configured logging does: the target bound in each runner's task joins every line.
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with running(settings) as got, httpx.AsyncClient(base_url=base) as http:
            await until(
                lambda: len(sims["bj-prod"].switchovers) == 2 and sims["sh-prod"].switchovers
            )
            fleet = got["fleet"]
            await until(lambda: fleet.runners["bj-test"].failures >= 2)
            # ... and followed to their end
            await until(
                lambda: not any(fleet.runners[t].reconciler.tracked for t in ("bj-prod", "sh-prod"))
            )
            assert fleet.runners["bj-prod"].failures == 0
            metrics = (await http.get("/metrics")).text
            status = (await http.get("/status")).json()
            ready = await http.get("/readyz")
    assert sims["bj-test"].switchovers == []
    assert sims["bj-test"].counts["unauthorized"] >= 2
    assert {p.cluster_id for p in sims["bj-prod"].switchovers} == {
        "p-bj-prod-sales",
        "p-bj-prod-etl",
    }
    # Metrics: each target's series carry its labels; the failing one counts its own errors.
    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    errors = {
        s.labels["dws_target"]: s.value
        for s in families["dws_rebalancer_cycle_errors"].samples
        if s.labels["kind"] == "dws_auth" and s.name.endswith("_total")
    }
    assert errors["bj-test"] >= 2
    assert errors["bj-prod"] == errors["sh-prod"] == 0
    switched = [
        s for s in families["dws_rebalancer_switchovers"].samples if s.name.endswith("_total")
    ]
    assert {(s.labels["dws_target"], s.labels["dws_region"]) for s in switched if s.value} == {
        ("bj-prod", "cn-north-4"),
        ("sh-prod", "cn-east-3"),
    }
    # /status: the targets with their own cycles; every cluster names its target.
    targets = {t["name"]: t for t in status["targets"]}
    assert targets["bj-test"]["consecutive_failures"] >= 2
    assert targets["sh-prod"]["last_success"] is not None
    assert {(c["target"], c["name"]) for c in status["clusters"]} == {
        ("bj-prod", "sales"),
        ("bj-prod", "etl"),
        ("sh-prod", "sales"),
    }
    assert ready.status_code == 200  # one region's trouble keeps the pod's metrics served
    # Logs: a target's cycle says whose it is.
    failed = [e for e in logs if e.get("event") == "cycle_failed"]
    assert failed
    assert {e.get("dws_target") for e in failed} == {"bj-test"}
    started = [e for e in logs if e.get("event") == "switchover_requested"]
    assert {e.get("dws_target") for e in started} == {"bj-prod", "sh-prod"}
    assert SK not in json.dumps(status) + metrics


async def test_a_replica_whose_shard_is_empty_idles_ready_until_stopped(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    """Three targets on two replicas may leave one without any: it serves, it does not exit."""
    settings = Settings(
        endpoint="http://127.0.0.1:1",  # never called
        auth={"ak": AK, "sk": SK},
        journal_path=tmp_path / "journal.db",
        listen=f"127.0.0.1:{unused_tcp_port}",
        targets=[{"name": "dw0", "project_id": "p0"}],  # owned by ordinal 0 of 2
        sharding={"replicas": 2, "ordinal": 1},
    )
    async with (
        running(settings) as got,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{unused_tcp_port}") as http,
    ):
        assert got["fleet"].runners == {}
        await asyncio.sleep(0.3)  # an exited loop would have ended the service by now
        ready = await http.get("/readyz")
        status = (await http.get("/status")).json()
        healthy = await http.get("/healthz")
    assert (ready.status_code, healthy.status_code) == (200, 200)
    assert (status["targets"], status["clusters"]) == ([], [])
