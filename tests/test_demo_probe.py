"""The demo's optional part: without PostgreSQL it says it skips the data-plane probe, and goes on."""

from __future__ import annotations

import io

import pytest

from controller.app import demo
from controller.clock import ScaledClock
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
