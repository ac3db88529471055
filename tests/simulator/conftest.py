"""Fixtures for the emulator tests: a manual clock, a small world, signed requests, in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sim_helpers import AK, BASE, PROJECT, SK, START, UUID_A, UUID_B, Signer, sign_headers

from controller.clock import ManualClock
from controller.simulator.app import create_app
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Socket tests talk to 127.0.0.1 directly even where a proxy is configured."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def wall() -> ManualClock:
    """The gateway's wall clock (X-Sdk-Date freshness), kept apart from the world's clock."""
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    sim = Simulator(
        clock, project_id=PROJECT, ak=AK, sk=SK, iam_users={"alice": ("alice-pw", "acme")}
    )
    sim.add_cluster(id=UUID_A, name="alpha", flags={"UNBALANCED"}, tags={"team": "a"})
    sim.add_cluster(id=UUID_B, name="beta", enterprise_project_id="ep-1")
    return sim


@pytest.fixture
def signed(wall: ManualClock) -> Signer:
    def make(method: str, url: str, **kwargs: Any) -> dict[str, str]:
        kwargs.setdefault("when", wall.now())
        return sign_headers(method, url, **kwargs)

    return make


@pytest.fixture
async def client(sim: Simulator, wall: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    transport = SimulatorTransport(create_app(sim, wall_clock=wall))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http
