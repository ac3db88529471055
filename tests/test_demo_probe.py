"""The demo's optional part: without PostgreSQL it says it skips the data-plane probe, and goes on."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from controller.app import demo
from controller.app.demo_people import Notification, planned_prefix
from controller.clock import ScaledClock
from controller.model import Outcome, SwitchoverRecord, Trigger
from controller.notify.templates import EVENTS
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
        "crm-dw:vetoed",
    }
    planned = planned_prefix("crm-dw")
    narrator.notified = {f"{planned}2026-11-29 17:03 UTC", f"{planned}2026-11-29 17:17 UTC"}
    narrator.notified |= {
        EVENTS["en"]["succeeded"][0].format(cluster=name) for name in demo.EXPECTED
    }
    ended = demo.DEMO_START + dt.timedelta(minutes=14)
    for name in sorted(demo.EXPECTED):
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
    for name in demo.EXPECTED:
        narrator.decided_at[name] = ended  # the same cycle, after its tracking stage
    assert narrator.complete()


def test_the_demo_waits_for_the_announce_veto_flow_to_be_heard() -> None:
    """Without the receiver's second `planned` (the slot after the vetoed one) nothing is done."""
    out = io.StringIO()
    narrator = demo.Narrator(ScaledClock(demo.DEMO_START, 60), out)
    planned = planned_prefix("crm-dw")
    narrator.notified = {f"{planned}2026-11-29 17:03 UTC"}
    narrator.notified |= {
        EVENTS["en"]["succeeded"][0].format(cluster=name) for name in demo.EXPECTED
    }
    assert not narrator._people_heard()
    narrator.heard(Notification(f"{planned}2026-11-29 17:17 UTC", "body"))
    assert narrator._people_heard()
    assert "[notify] Switchover planned for crm-dw at 2026-11-29 17:17 UTC" in out.getvalue()
