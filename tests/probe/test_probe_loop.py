"""The probe inside the controller: started at the accepted POST, stopped `tail` after the end,
its measurement in the journal, the metrics and the log beside the control-plane duration.

Real time, a real PostgreSQL behind the emulator's proxy, the controller's own reconcile loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from controller.app.bootstrap import Parts, assemble
from controller.clock import SystemClock
from controller.settings import Settings
from controller.simulator.app import create_app
from controller.simulator.postgres import PgServer
from controller.simulator.proxy import OutagePlan, TcpProxy, attach
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator

CLOCK = SystemClock()
PROJECT, AK, SK = "p-probe", "PROBEAK000000001", "probe-sk"
SWITCHOVER_SECONDS, OUTAGE_AFTER, OUTAGE_LENGTH = 8.0, 1.0, 4.0


def settings(tmp: Path, probe: dict[str, Any]) -> Settings:
    return Settings(
        endpoint="http://dws.emulator.test",
        project_id=PROJECT,
        auth={"ak": AK, "sk": SK},
        journal_path=tmp / "journal.db",
        tracking_interval="1s",
        policy={
            "windows": [],
            "use_maintenance_window": False,
            "min_unbalanced_duration": "0s",
            "probe": probe,
        },
    )


async def follow_until_probed(parts: Parts, timeout: float = 30.0) -> None:
    """Track as `run` does, until the probe's measurement reached the journal."""
    async with asyncio.timeout(timeout):
        while True:
            await parts.reconciler.track_once(CLOCK.now())
            (record,) = parts.journal.switchovers(since=CLOCK.now() - dt.timedelta(hours=1))
            if record.client is not None:
                return
            await asyncio.sleep(0.5)


async def test_the_controller_measures_what_clients_felt_beside_the_control_plane(
    pg: PgServer, tmp_path: Path
) -> None:
    sim = Simulator(CLOCK, project_id=PROJECT, ak=AK, sk=SK)
    sim.add_cluster(id="c1", name="dws-sales", switchover_base_seconds=SWITCHOVER_SECONDS)
    sim.unbalance("c1")
    transport = SimulatorTransport(create_app(sim))
    with TcpProxy((pg.host, pg.port), CLOCK) as proxy:
        attach(sim, proxy, OutagePlan("dws-sales", "refuse", OUTAGE_AFTER, OUTAGE_LENGTH))
        probe = {
            "enabled": True,
            "host": pg.host,
            "port": proxy.port,
            "database": pg.database,
            "user": pg.user,
            "password": pg.password,
            "tail": "2s",
        }
        async with assemble(settings(tmp_path, probe), clock=CLOCK, transport=transport) as parts:
            with capture_logs() as logs:
                report = await parts.reconciler.reconcile_once(CLOCK.now())
                assert [r.cluster_id for r in report.started] == ["c1"]
                await follow_until_probed(parts)
            (record,) = parts.journal.switchovers(since=CLOCK.now() - dt.timedelta(hours=1))
    (outage,) = proxy.outages()
    assert record.client is not None
    assert outage.seconds is not None
    assert record.client.interruption_seconds == pytest.approx(outage.seconds, abs=1.0)
    assert record.interruption_seconds is not None  # the control plane's figure, too
    assert record.interruption_seconds >= SWITCHOVER_SECONDS - 1
    registry = parts.metrics.registry
    count = registry.get_sample_value(
        "dws_rebalancer_client_interruption_seconds_count", {"trigger": "controller"}
    )
    assert count == 1
    last = registry.get_sample_value(
        "dws_rebalancer_last_client_interruption_seconds", {"dws_cluster": "dws-sales"}
    )
    assert last == record.client.interruption_seconds
    assert registry.get_sample_value("dws_rebalancer_probes_total", {"outcome": "measured"}) == 1
    assert registry.get_sample_value("dws_rebalancer_probe_errors_total") == 0
    (line,) = [e for e in logs if e["event"] == "client_interruption_measured"]
    assert line["client_interruption_seconds"] == record.client.interruption_seconds
    assert pg.password not in repr(logs)


async def test_a_probe_that_cannot_start_never_stops_the_switchover(
    pg: PgServer, tmp_path: Path
) -> None:
    sim = Simulator(CLOCK, project_id=PROJECT, ak=AK, sk=SK)
    sim.add_cluster(id="c1", name="dws-sales", switchover_base_seconds=2)
    sim.unbalance("c1")
    transport = SimulatorTransport(create_app(sim))
    gone = str(tmp_path / "unmounted-secret")  # the Secret is not there (yet): no probe
    probe = {"enabled": True, "host": pg.host, "user": pg.user, "password_file": gone}
    async with assemble(settings(tmp_path, probe), clock=CLOCK, transport=transport) as parts:
        with capture_logs() as logs:
            report = await parts.reconciler.reconcile_once(CLOCK.now())
    assert [r.cluster_id for r in report.started] == ["c1"]
    assert len(sim.switchovers) == 1
    (line,) = [e for e in logs if e["event"] == "probe_unavailable"]
    assert "password_file" in line["reason"]
    probes = parts.metrics.registry.get_sample_value
    assert probes("dws_rebalancer_probes_total", {"outcome": "unavailable"}) == 1
