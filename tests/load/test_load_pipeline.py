"""The building blocks together against the emulator: fetch, assess, and learn the quietest slot.

What the cycle will do with them: an ETL cluster is held by `load_high` during its nightly peak
and allowed once the load drops; its profile, learned from the emulated history, avoids the peak.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pytest
from loadkit import CALM, ETL, at, in_process, target, world

from controller.clock import ManualClock
from controller.guards.timewindow import window_open
from controller.load.assess import assess
from controller.load.facts import Unknown
from controller.load.profile import build_profile, hourly_load, quietest
from controller.settings import Window

LIMITS = {"dws008_active_sql_count": 20.0, "dws010_cpu_usage": 60.0}
UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("now", "etl", "calm"),
    [
        pytest.param(at(0, 50), "allow", "allow", id="before the peak"),
        pytest.param(at(1, 20), "load_high", "allow", id="during the peak"),
        pytest.param(at(3, 20), "allow", "allow", id="after the peak"),
    ],
)
async def test_held_during_the_peak_and_let_go_after(
    clock: ManualClock, now: dt.datetime, etl: str, calm: str
) -> None:
    sim = world(clock)
    clock.set(now)
    ces = in_process(sim, clock)
    try:
        readings = await ces.latest(
            [target(sim, ETL), target(sim, CALM)],
            list(LIMITS),
            now=now,
            lookback=dt.timedelta(minutes=15),
        )
    finally:
        await ces.aclose()
    verdicts = {cluster: assess(reading, LIMITS) for cluster, reading in readings.items()}
    assert (verdicts[ETL].code, verdicts[CALM].code) == (etl, calm)
    assert ces.calls == 1  # both clusters, eight series, one call
    if etl == "load_high":
        assert verdicts[ETL].detail.startswith("dws008_active_sql_count 30 > limit 20")


async def test_the_learned_profile_avoids_the_nightly_peak() -> None:
    clock = ManualClock(dt.datetime(2026, 3, 12, 6, tzinfo=dt.UTC))  # Thursday morning
    sim = world(clock)
    ces = in_process(sim, clock, timeout=30)
    try:
        history = await ces.history([target(sim, ETL)], list(LIMITS), now=clock.now(), days=8)
    finally:
        await ces.aclose()
    found = history[ETL]
    assert not isinstance(found, Unknown)
    points = hourly_load(((s.metric, p) for s, p in found.items()), LIMITS)
    profile = build_profile(points, UTC, clock.now())
    # The peak hours load the busiest node to 100/60 of its limit; the rest of the night 25/60.
    assert profile.expected[(0, 1)] == pytest.approx(100 / 60)
    assert profile.expected[(0, 4)] == pytest.approx(25 / 60)
    night = Window(start=dt.time(0), end=dt.time(6), timezone=UTC)
    choice = quietest(profile, clock.now(), functools.partial(window_open, [night]))
    assert choice is not None
    assert choice.at == dt.datetime(2026, 3, 13, 0, tzinfo=dt.UTC)  # Friday 00:00, not 01:00
    assert choice.expected == pytest.approx(25 / 60)
