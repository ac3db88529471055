"""A controller wired to the in-process emulator on a shared virtual clock (the `world` fixture)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.app.bootstrap import Parts, assemble
from controller.clock import ManualClock
from controller.loop.cycle import CycleReport
from controller.settings import Settings
from controller.simulator.app import create_app
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator

#: Monday 2026-11-30 00:50 in Shanghai: ten minutes before the default 01:00–05:00 window opens.
MONDAY_0050_CST = dt.datetime(2026, 11, 29, 16, 50, tzinfo=dt.UTC)
PROJECT = "0f6b1c2d3e4f"
AK, SK = "TESTAK0123456789", "test-sk-do-not-log"


@dataclass
class World:
    clock: ManualClock
    sim: Simulator
    journal_path: Path
    make_settings: Callable[..., Settings]

    @contextlib.asynccontextmanager
    async def controller(self, **overrides: Any) -> AsyncIterator[Parts]:
        """A controller process: opening it again later is a restart (same journal file)."""
        settings = self.make_settings(**overrides)
        transport = SimulatorTransport(create_app(self.sim))
        async with assemble(settings, clock=self.clock, transport=transport) as parts:
            yield parts

    async def cycle(self, parts: Parts) -> CycleReport:
        return await parts.reconciler.reconcile_once(self.clock.now())

    def advance(self, **delta: float) -> None:
        self.clock.advance(dt.timedelta(**delta))


@pytest.fixture
def world(tmp_path: Path) -> World:
    clock = ManualClock(MONDAY_0050_CST)
    sim = Simulator(clock, project_id=PROJECT, ak=AK, sk=SK)
    journal_path = tmp_path / "journal.db"

    def make_settings(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "endpoint": "http://dws.emulator.test",
            "project_id": PROJECT,
            "auth": {"ak": AK, "sk": SK},
            "journal_path": journal_path,
            "log_format": "json",
        }
        policy = {"min_unbalanced_duration": "5m", **overrides.pop("policy", {})}
        return Settings(**{**base, "policy": policy, **overrides})

    return World(clock, sim, journal_path, make_settings)
