"""The probe against a real PostgreSQL, behind the emulator's proxy: it measures the real outage.

The outage is cut or stalled by the emulator's switchover through the proxy; its real length is
what the proxy recorded when it changed mode. The probe's measured client interruption must be
within ±1 s of it (the probe samples once a second, so that is its resolution).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import psycopg
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from controller.clock import SystemClock
from controller.probe import Probe, Target
from controller.probe.check import SqlCheck
from controller.probe.endpoint import APPLICATION_NAME
from controller.simulator.postgres import PgServer
from controller.simulator.proxy import OutagePlan, TcpProxy, attach
from controller.simulator.world import Simulator

CLOCK = SystemClock()
SWITCHOVER_SECONDS = 8.0
OUTAGE_AFTER, OUTAGE_LENGTH = 1.0, 4.5


def target(pg: PgServer, *, port: int | None = None, password: str | None = None) -> Target:
    return Target(
        host=pg.host,
        port=port or pg.port,
        database=pg.database,
        user=pg.user,
        password=SecretStr(password or pg.password),
        interval=1.0,
        connect_timeout=2.0,
        statement_timeout=2.0,
    )


def probe_for(tgt: Target, check: SqlCheck | None = None) -> Probe:
    return Probe(tgt, now=CLOCK.now, monotonic=CLOCK.monotonic, check=check, cluster="dws-sales")


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_a_healthy_endpoint_answers_every_beat_on_one_visible_connection(
    pg: PgServer,
) -> None:
    check = SqlCheck(target(pg))
    probe = probe_for(target(pg), check)
    probe.start()
    await until(lambda: len(probe.samples) >= 3)
    # DBAs see the probe by its application_name (the role may read its own sessions)
    async with await psycopg.AsyncConnection.connect(
        host=pg.host, port=pg.port, dbname=pg.database, user=pg.user, password=pg.password
    ) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (APPLICATION_NAME,),
        )
        assert await cursor.fetchone() == (1,)
    result = await probe.stop()
    assert result.samples >= 3
    assert result.failures == 0
    assert result.client_interruption_seconds == 0.0
    assert check.connects == 1  # reused while it works


async def test_a_session_killed_between_beats_is_replaced_within_the_same_attempt(
    pg: PgServer,
) -> None:
    check = SqlCheck(target(pg))
    probe = probe_for(target(pg), check)
    probe.start()
    await until(lambda: len(probe.samples) >= 1)
    async with await psycopg.AsyncConnection.connect(**pg.admin, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (APPLICATION_NAME,),
        )
    await until(lambda: len(probe.samples) >= 3)
    result = await probe.stop()
    assert result.failures == 0  # the endpoint answered new connections all along
    assert check.connects == 2


async def test_a_wrong_password_is_an_auth_failure_and_never_appears(pg: PgServer) -> None:
    wrong = secrets.token_urlsafe(12)
    probe = probe_for(target(pg, password=wrong))
    with capture_logs() as logs:
        probe.start()
        await until(lambda: len(probe.samples) >= 2)
        result = await probe.stop()
    assert result.failure_kinds == {"auth": result.failures}
    assert result.failures >= 2
    assert not result.recovered
    seen = repr(logs) + repr(probe) + repr(probe.samples) + repr(result) + repr(probe.target)
    assert wrong not in seen
    assert pg.password not in seen
    failing = [e for e in logs if e["event"] == "probe_failing"]
    assert len(failing) == 1  # one line when it starts failing, not one a second
    assert "password authentication failed" in failing[0]["error"]


async def test_stop_is_prompt_while_a_query_hangs_on_a_stalled_network(pg: PgServer) -> None:
    with TcpProxy((pg.host, pg.port), CLOCK) as proxy:
        probe = probe_for(target(pg, port=proxy.port))
        probe.start()
        await until(lambda: len(probe.samples) >= 1)
        await asyncio.to_thread(proxy.stall)
        await asyncio.sleep(1.5)  # the next SELECT 1 is now waiting for an answer
        # psycopg's own cancel would wait seconds for a stalled network; the probe does not
        result = await asyncio.wait_for(probe.stop(), timeout=1.5)
        await asyncio.to_thread(proxy.restore)
    assert result.samples >= 1


@pytest.mark.parametrize(("mode", "kind"), [("refuse", "refused"), ("stall", "timeout")])
async def test_the_measured_interruption_is_the_proxys_real_outage(
    pg: PgServer, mode: str, kind: str
) -> None:
    sim = Simulator(CLOCK, project_id="p", ak="ak", sk="sk")
    sim.add_cluster(id="c1", name="dws-sales", switchover_base_seconds=SWITCHOVER_SECONDS)
    sim.unbalance("c1")
    with TcpProxy((pg.host, pg.port), CLOCK) as proxy:
        attach(sim, proxy, OutagePlan("dws-sales", mode, OUTAGE_AFTER, OUTAGE_LENGTH))  # type: ignore[arg-type]
        probe = probe_for(target(pg, port=proxy.port))
        probe.start()
        await asyncio.sleep(1.5)  # off the probe's beat: the outage starts between samples
        posted = CLOCK.monotonic()
        sim.switchover("c1")
        await until(lambda: sim.cluster("c1").task_status is None)
        await asyncio.sleep(2.0)  # the tail
        result = await probe.stop()
    [outage] = proxy.outages()
    assert outage.mode == mode
    assert outage.seconds is not None
    assert posted < outage.started
    assert outage.started + outage.seconds < posted + SWITCHOVER_SECONDS
    assert result.client_interruption_seconds == pytest.approx(outage.seconds, abs=1.0)
    assert result.failed_seconds == pytest.approx(outage.seconds, abs=1.0)
    assert result.recovered
    assert set(result.failure_kinds) == {kind}
    assert result.first_failure is not None
    assert result.recovery is not None
