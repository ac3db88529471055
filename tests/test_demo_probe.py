"""The demo's optional part: without PostgreSQL it says it skips the data-plane probe, and goes on."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from controller.app import demo
from controller.clock import ScaledClock
from controller.model import Outcome, SwitchoverRecord, Trigger
from controller.simulator.world import Simulator


def test_without_postgresql_the_demo_says_it_skips_the_probe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo.postgres, "unavailable_reason", lambda: "PostgreSQL is not here")
    clock = ScaledClock(demo.DEMO_START, 60)
    sim = Simulator(clock, project_id=demo.PROJECT, ak=demo.AK, sk=demo.SK)
    out = io.StringIO()
    with demo.database(out) as pg, demo.sql_endpoint(pg, sim, clock, out) as probe:
        assert pg is None
        assert probe == {}
    assert out.getvalue() == f"PostgreSQL is not here: {demo.NO_PROBE}.\n"
    assert sim.switchover_listeners == []  # no outage planned: there is nothing to cut
    settings = demo.demo_settings("http://127.0.0.1:1", demo.Path("j.db"), "127.0.0.1:0", probe)
    assert not settings.policy.probe.enabled


def test_a_decision_in_the_cycle_that_saw_the_end_settles_the_switchover() -> None:
    """The cycle tracks before it judges: its decision, at the same instant, is the aftermath."""
    narrator = demo.Narrator(ScaledClock(demo.DEMO_START, 60), io.StringIO())
    narrator.seen = {
        "sales-dw:outside_window",
        "legacy-dw:version_unsupported",
        "risk-dw:degraded",
        "report-dw:task_in_progress",
        "report-dw:load_high",
        "batch-dw:awaiting_quiet_slot",
        "etl-dw:not_unbalanced",
        "etl-dw:debouncing",
    }
    ended = demo.DEMO_START + dt.timedelta(minutes=14)
    for name in ("sales-dw", "etl-dw", "report-dw"):
        narrator.finished.append(
            SwitchoverRecord(
                name,
                name,
                Trigger.CONTROLLER,
                started=ended,
                ended=ended,
                outcome=Outcome.SUCCEEDED,
            )
        )
        narrator.decided_at[name] = ended - dt.timedelta(seconds=1)  # before the end: not yet
    assert not narrator.complete()
    for name in ("sales-dw", "etl-dw", "report-dw"):
        narrator.decided_at[name] = ended  # the same cycle, after its tracking stage
    assert narrator.complete()
