"""The hour-of-week profile and the quietest allowed slot, with the guards' real window arithmetic
(including weeks that cross a DST change in the window's zone)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

import pytest

from controller.guards.timewindow import window_open
from controller.load.facts import Point
from controller.load.profile import (
    Choice,
    Profile,
    ProfileError,
    Slot,
    build_profile,
    heatmap,
    hourly_load,
    quietest,
)
from controller.settings import Window

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
HOUR = dt.timedelta(hours=1)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def history(
    now: dt.datetime, zone: ZoneInfo, quiet: Mapping[Slot, float], days: int = 28
) -> list[Point]:
    """Hourly points of the last `days` days: load 1.0, except the `quiet` local slots."""
    first = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=days)
    points = []
    at = first
    while at < now:
        local = at.astimezone(zone)
        points.append(Point(at, quiet.get((local.weekday(), local.hour), 1.0)))
        at += HOUR
    return points


def windows(zone: ZoneInfo, start: int = 1, end: int = 5) -> Callable[[dt.datetime], bool]:
    """Every day start..end local time in `zone`, asked through the window guard's arithmetic."""
    window = Window(start=dt.time(start), end=dt.time(end), timezone=zone)
    return functools.partial(window_open, [window])


def choose(
    now: dt.datetime,
    zone: ZoneInfo,
    quiet: Mapping[Slot, float],
    allowed: Callable[[dt.datetime], bool],
) -> Choice | None:
    return quietest(build_profile(history(now, zone, quiet), zone, now), now, allowed)


@pytest.mark.parametrize(
    ("now", "zone", "quiet", "allowed", "at", "expected"),
    [
        pytest.param(
            utc(2026, 3, 21, 12), BERLIN, {(SUN, 3): 0.1, (SAT, 4): 0.2}, windows(BERLIN),
            utc(2026, 3, 22, 2), 0.1, id="week before DST: Sun 03:00 CET is 02:00 UTC",
        ),
        pytest.param(
            utc(2026, 3, 28, 12), BERLIN, {(SUN, 3): 0.1, (SAT, 4): 0.2}, windows(BERLIN),
            utc(2026, 3, 29, 1), 0.1, id="DST week: Sun 03:00 CEST is 01:00 UTC",
        ),
        pytest.param(
            utc(2026, 3, 28, 12), BERLIN, {(SUN, 2): 0.05, (MON, 2): 0.3}, windows(BERLIN),
            utc(2026, 3, 30, 0), 0.3, id="DST week: the skipped hour Sun 02:00 never comes",
        ),
        pytest.param(
            utc(2026, 10, 24, 12), BERLIN, {(SUN, 2): 0.1}, windows(BERLIN),
            utc(2026, 10, 25, 0), 0.1, id="DST ends: Sun 02:00 comes twice, the first counts",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), SHANGHAI, {(THU, 2): 0.2, (WED, 12): 0.0}, windows(SHANGHAI),
            utc(2026, 3, 4, 18), 0.2, id="the quietest hour outside the window is not chosen",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), SHANGHAI, {(THU, 2): 0.2, (WED, 12): 0.0}, lambda _at: True,
            utc(2026, 3, 11, 4), 0.0, id="no windows: any hour, next Wed 12:00 local",
        ),
        pytest.param(
            utc(2026, 3, 4, 18, 20), SHANGHAI, {(THU, 2): 0.2}, windows(SHANGHAI),
            utc(2026, 3, 4, 18, 20), 0.2, id="the current hour counts from now",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), UTC, {(THU, 2): 0.4, (FRI, 3): 0.4, (SAT, 1): 0.4}, windows(UTC),
            utc(2026, 3, 5, 2), 0.4, id="ties go to the earliest",
        ),
        pytest.param(
            utc(2026, 3, 4, 12), UTC, {}, windows(UTC, 1, 2),
            utc(2026, 3, 5, 1), 1.0, id="all equal: the next allowed hour",
        ),
    ],
)  # fmt: skip
def test_the_quietest_allowed_upcoming_hour(
    now: dt.datetime,
    zone: ZoneInfo,
    quiet: Mapping[Slot, float],
    allowed: Callable[[dt.datetime], bool],
    at: dt.datetime,
    expected: float,
) -> None:
    choice = choose(now, zone, quiet, allowed)
    assert choice is not None
    assert (choice.at, choice.expected) == (at, pytest.approx(expected))
    local = at.astimezone(zone)
    assert choice.slot == (local.weekday(), local.hour)


def test_the_profile_keeps_local_hours_across_the_dst_change() -> None:
    now = utc(2026, 4, 12, 0)  # two CET and two CEST weeks of history
    points = history(now, BERLIN, {(SUN, 3): 0.1})
    profile = build_profile(points, BERLIN, now)
    assert profile.expected[(SUN, 3)] == pytest.approx(0.1)
    assert profile.expected[(SUN, 2)] == pytest.approx(1.0)  # only three Sundays had a 02:00
    quiet_instants = [p.at for p in points if p.value < 1]
    assert utc(2026, 3, 22, 2) in quiet_instants  # 03:00 CET
    assert utc(2026, 3, 29, 1) in quiet_instants  # 03:00 CEST


def test_no_allowed_hour_with_history_means_no_choice() -> None:
    now = utc(2026, 3, 4, 12)
    profile = build_profile(history(now, UTC, {}), UTC, now)
    assert quietest(profile, now, lambda _at: False) is None
    sparse = Profile(UTC, {(MON, 3): 0.1}, now, 7 * 24 * HOUR)
    assert quietest(sparse, now, windows(UTC, 1, 2)) is None  # Mon 03:00 is outside 01:00-02:00


def test_hours_without_history_are_never_chosen() -> None:
    now = utc(2026, 3, 4, 12)
    points = [p for p in history(now, UTC, {(THU, 2): 0.5}) if p.at.hour != 1]
    choice = quietest(build_profile(points, UTC, now), now, windows(UTC, 1, 3))
    assert choice is not None
    assert choice.slot == (THU, 2)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        pytest.param(0, "no hourly load history", id="none"),
        pytest.param(6, "needs 7 days of hourly history, has 144 hours", id="six days"),
    ],
)
def test_less_than_a_week_of_history_is_no_profile(days: int, message: str) -> None:
    now = utc(2026, 3, 4, 12)
    with pytest.raises(ProfileError, match=message):
        build_profile(history(now, UTC, {}, days=days), UTC, now)


def test_one_week_is_enough_and_older_than_four_weeks_is_ignored() -> None:
    now = utc(2026, 3, 4, 12)
    week = build_profile(history(now, UTC, {}, days=7), UTC, now)
    assert week.history == 7 * 24 * HOUR
    assert len(week.expected) == 7 * 24
    old_quiet = [Point(now - dt.timedelta(days=30), 0.0)]  # Mon 02/02 12:00: too old to count
    profile = build_profile(old_quiet + history(now, UTC, {}), UTC, now)
    assert profile.history == 28 * 24 * HOUR
    assert set(profile.expected.values()) == {1.0}


def test_each_slot_is_the_mean_over_the_weeks() -> None:
    now = utc(2026, 3, 4, 12)
    points = history(now, UTC, {}, days=14)
    tuesdays_2am = [i for i, p in enumerate(points) if (p.at.weekday(), p.at.hour) == (TUE, 2)]
    first, second = tuesdays_2am
    points[first], points[second] = Point(points[first].at, 0.2), Point(points[second].at, 0.4)
    assert build_profile(points, UTC, now).expected[(TUE, 2)] == pytest.approx(0.3)


def test_hourly_load_is_the_tightest_ratio_to_its_limit() -> None:
    t0, t1 = utc(2026, 3, 4, 1), utc(2026, 3, 4, 2)
    series = [
        ("dws008_active_sql_count", [Point(t0, 10), Point(t1, 2)]),  # limit 20
        ("dws010_cpu_usage", [Point(t0, 30), Point(t1, 45)]),  # node 1, limit 60
        ("dws010_cpu_usage", [Point(t0, 12), Point(t1, 54)]),  # node 2: the busiest at t1
        ("dws012_iops", [Point(t0, 0.25)]),  # limit 0: the raw value
    ]
    limits = {"dws008_active_sql_count": 20, "dws010_cpu_usage": 60, "dws012_iops": 0}
    assert hourly_load(series, limits) == [Point(t0, 0.5), Point(t1, 0.9)]


def test_the_profile_survives_the_journal_round_trip() -> None:
    now = utc(2026, 3, 4, 12)
    profile = build_profile(history(now, SHANGHAI, {(WED, 2): 0.25}), SHANGHAI, now)
    again = Profile.from_dict(json.loads(json.dumps(profile.as_dict())))
    assert again == profile


def test_the_heat_map_is_seven_rows_of_twenty_four_hours() -> None:
    now = utc(2026, 3, 4, 12)
    points = [
        p for p in history(now, UTC, {(MON, 0): 0.0}) if (p.at.weekday(), p.at.hour) != (SUN, 23)
    ]
    lines = heatmap(build_profile(points, UTC, now)).splitlines()
    assert lines[0] == "     012345678901234567890123  (UTC)"
    rows = lines[1:8]
    assert [row[:3] for row in rows] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert all(len(row) == 5 + 24 for row in rows)
    assert rows[0][5] == " "  # the quiet Monday midnight
    assert rows[0][6] == "@"  # the busiest
    assert rows[6][-1] == "?"  # no history for Sunday 23:00
    assert "1.00 of the tightest limit" in lines[8]
