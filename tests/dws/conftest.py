"""Fixtures for the DWS client tests: a manual clock, instant retries, the emulator in-process and on a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import stamina
from dwskit import (
    AK,
    BALANCED,
    BASE,
    PASSWORD,
    PROJECT,
    SK,
    START,
    TIMEOUT,
    UNBALANCED,
    ClientFactory,
    aksk,
)

from controller.clock import ManualClock
from controller.dws.client import DwsClient
from controller.simulator.app import create_app
from controller.simulator.server import BackgroundServer
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """stamina's test mode: no real sleeps; our own attempt limits and budget still apply."""
    with stamina.set_testing(True, attempts=20, cap=True):
        yield


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    sim = Simulator(
        clock, project_id=PROJECT, ak=AK, sk=SK, iam_users={"alice": (PASSWORD, "acme")}
    )
    sim.add_cluster(id=UNBALANCED, name="dws-a", flags={"UNBALANCED"}, tags={"team": "a"})
    sim.add_cluster(id=BALANCED, name="dws-b")
    return sim


@pytest.fixture
async def in_process(sim: Simulator, clock: ManualClock) -> AsyncIterator[ClientFactory]:
    """Build clients that talk to the emulator in-process (AK/SK unless `auth` is given)."""
    clients: list[DwsClient] = []

    def make(auth: httpx.Auth | None = None, **kwargs: object) -> DwsClient:
        options: dict[str, object] = {"timeout": TIMEOUT, "clock": clock, **kwargs}
        client = DwsClient(
            endpoint=BASE,
            project_id=PROJECT,
            auth=auth or aksk(clock),
            transport=SimulatorTransport(create_app(sim, wall_clock=clock)),
            **options,  # type: ignore[arg-type]
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def server(sim: Simulator) -> Iterator[BackgroundServer]:
    """The emulator on a real loopback socket (wall-clock signature freshness)."""
    with BackgroundServer(sim) as running:
        yield running
