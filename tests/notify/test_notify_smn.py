"""SMN delivery over real sockets to the emulator: signed publishes, faults, retries, refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from notifykit import AK, PROJECT, SK, TOPIC
from pydantic import SecretStr
from test_notify_delivery import FAST, counted, deliver_all

from controller.clock import SystemClock
from controller.dws.auth import AkSkAuth
from controller.journal import Journal
from controller.notify.compose import Message
from controller.notify.smn import SmnChannel
from controller.notify.worker import Item, Worker
from controller.record.metrics import Metrics
from controller.simulator.server import BackgroundServer
from controller.simulator.smn import PUBLISH
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e
T0 = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)


@pytest.fixture
def server(sim: Simulator) -> Iterator[BackgroundServer]:
    with BackgroundServer(sim) as running:
        yield running


def smn(server: BackgroundServer, *, sk: str = SK, timeout: float = 2.0) -> SmnChannel:
    auth = AkSkAuth(AK, SecretStr(sk), project_id=PROJECT)
    return SmnChannel(
        "smn#0", frozenset({"started"}), endpoint=server.url, project_id=PROJECT,
        topic_urn=TOPIC, auth=auth, timeout=timeout,
    )  # fmt: skip


async def run_one(channel: SmnChannel, tmp: Path, metrics: Metrics) -> None:
    with Journal.open(tmp / "j.db", now=T0) as journal:
        metrics.declare_notification_channel(channel.label, ["started"])
        w = Worker(
            channel,
            journal=journal,
            count=metrics.count_notification,
            clock=SystemClock(),
            retry=FAST,
        )
        w.offer(Item("started:c1:t0", "started", Message("switchover started", "body\nline")))
        await deliver_all(w)
    await channel.aclose()


async def test_a_publish_reaches_the_topic(
    server: BackgroundServer, sim: Simulator, tmp_path: Path
) -> None:
    metrics = Metrics()
    await run_one(smn(server), tmp_path, metrics)
    [published] = sim.smn.messages()
    assert (published.topic_urn, published.subject, published.message) == (
        TOPIC, "switchover started", "body\nline",
    )  # fmt: skip
    assert counted(metrics, "sent", channel="smn#0") == 1


async def test_a_5xx_is_retried(server: BackgroundServer, sim: Simulator, tmp_path: Path) -> None:
    sim.smn.inject("status", times=2, status=503)
    metrics = Metrics()
    await run_one(smn(server), tmp_path, metrics)
    assert sim.counts[PUBLISH] == 3
    assert len(sim.smn.messages()) == 1
    assert counted(metrics, "sent", channel="smn#0") == 1


async def test_a_timeout_is_retried(
    server: BackgroundServer, sim: Simulator, tmp_path: Path
) -> None:
    sim.smn.inject("timeout", times=1, seconds=2)
    metrics = Metrics()
    await run_one(smn(server, timeout=0.3), tmp_path, metrics)
    assert sim.counts[PUBLISH] == 2
    assert len(sim.smn.messages()) == 1


async def test_faults_that_outlast_the_retries_fail_it(
    server: BackgroundServer, sim: Simulator, tmp_path: Path
) -> None:
    sim.smn.inject("status", times=None, status=500)
    metrics = Metrics()
    await run_one(smn(server), tmp_path, metrics)
    assert sim.counts[PUBLISH] == FAST.attempts
    assert counted(metrics, "failed", channel="smn#0") == 1


async def test_a_bad_signature_is_not_retried(
    server: BackgroundServer, sim: Simulator, tmp_path: Path
) -> None:
    metrics = Metrics()
    await run_one(smn(server, sk="wrong-secret-key-0000"), tmp_path, metrics)
    assert sim.counts["unauthorized"] == 1  # refused once; asking again would not help
    assert sim.smn.messages() == []
    assert counted(metrics, "failed", channel="smn#0") == 1


async def test_the_emulator_shows_what_was_published(
    server: BackgroundServer, sim: Simulator, tmp_path: Path
) -> None:
    import httpx

    await run_one(smn(server), tmp_path, Metrics())
    async with httpx.AsyncClient() as http:
        answer = (await http.get(f"{server.url}/_emulator/smn/messages")).json()
    assert [m["subject"] for m in answer["messages"]] == ["switchover started"]
