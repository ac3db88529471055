"""Fixtures for the load tests: a manual clock and the emulated project of loadkit."""

from __future__ import annotations

import pytest
from loadkit import START, world

from controller.clock import ManualClock
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
def sim(clock: ManualClock) -> Simulator:
    return world(clock)
