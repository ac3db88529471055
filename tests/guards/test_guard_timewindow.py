"""Off-peak windows: zones, midnight crossing, full days, DST, the cluster maintenance window."""

from __future__ import annotations

import datetime as dt

import pytest
from guardkit import cases, cluster, policy, utc, window

from controller.guards.timewindow import (
    is_window_open,
    next_window_start,
    window_guard,
    window_open,
)
from controller.model import History, MaintainWindow, Reason

SHANGHAI_WEEKDAYS = window("Mon,Tue,Wed,Thu,Fri", "01:00", "05:00", "Asia/Shanghai")
FRI_NIGHT = window("Fri", "22:00", "02:00")
SUN_NIGHT = window("Sun", "23:00", "01:00")
MON_NIGHT = window("Mon", "23:00", "01:00")
WED_FULL = window("Wed", "00:00", "00:00")
WED_NOON_FULL = window("Wed", "12:00", "12:00")
MON_EARLY, MON_MORNING = window("Mon", "01:00", "03:00"), window("Mon", "05:00", "07:00")
# Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST at 01:00 UTC; 2026-10-25 03:00 CEST → 02:00 CET at 01:00 UTC.
BERLIN_IN_GAP = window("Sun", "02:30", "04:00", "Europe/Berlin")
BERLIN_DAILY = window("Mon,Tue,Wed,Thu,Fri,Sat,Sun", "01:00", "05:00", "Europe/Berlin")
BERLIN_WHOLLY_IN_GAP = window("Sun", "02:00", "03:00", "Europe/Berlin")
BERLIN_ENDS_AMBIGUOUS = window("Sun", "00:00", "02:30", "Europe/Berlin")
# America/New_York: 2026-03-08 02:00 EST → 03:00 EDT at 07:00 UTC; 2026-11-01 02:00 EDT → 01:00 EST at 06:00 UTC.
NY_IN_GAP = window("Sun", "02:15", "03:30", "America/New_York")
NY_SAT_NIGHT = window("Sat", "23:00", "03:00", "America/New_York")
NY_AMBIGUOUS = window("Sun", "01:30", "02:30", "America/New_York")
NY_ENDS_AMBIGUOUS = window("Sun", "00:00", "01:30", "America/New_York")

OPEN_CASES = [
    # time zones: Sun 18:00 UTC is Mon 02:00 in Shanghai
    ("shanghai-mon-0200", [SHANGHAI_WEEKDAYS], "2026-11-29 18:00", True),
    (
        "utc-zone-same-instant-is-sunday",
        [window("Mon,Tue,Wed,Thu,Fri", "01:00", "05:00")],
        "2026-11-29 18:00",
        False,
    ),
    ("shanghai-mon-0930", [SHANGHAI_WEEKDAYS], "2026-11-30 01:30", False),
    # crossing midnight belongs to the start day
    ("fri-22-02-open-sat-0100", [FRI_NIGHT], "2026-11-28 01:00", True),
    ("fri-22-02-closed-fri-0100", [FRI_NIGHT], "2026-11-27 01:00", False),
    ("fri-22-02-start-inclusive", [FRI_NIGHT], "2026-11-27 22:00", True),
    ("fri-22-02-end-exclusive", [FRI_NIGHT], "2026-11-28 02:00", False),
    ("sun-23-01-open-mon-0030", [SUN_NIGHT], "2026-11-30 00:30", True),
    ("mon-23-01-closed-mon-0030", [MON_NIGHT], "2026-11-30 00:30", False),
    ("mon-23-01-open-tue-0030", [MON_NIGHT], "2026-12-01 00:30", True),
    # end == start: a full day from the start
    ("full-day-wed-0000", [WED_FULL], "2026-12-02 00:00", True),
    ("full-day-wed-2359", [WED_FULL], "2026-12-02 23:59", True),
    ("full-day-thu-0000", [WED_FULL], "2026-12-03 00:00", False),
    ("full-day-tue-2359", [WED_FULL], "2026-12-01 23:59", False),
    ("noon-full-day-thu-1159", [WED_NOON_FULL], "2026-12-03 11:59", True),
    ("noon-full-day-thu-1200", [WED_NOON_FULL], "2026-12-03 12:00", False),
    ("noon-full-day-wed-1159", [WED_NOON_FULL], "2026-12-02 11:59", False),
    # several windows
    ("several-second-open", [MON_EARLY, MON_MORNING], "2026-11-30 06:00", True),
    ("several-between", [MON_EARLY, MON_MORNING], "2026-11-30 04:00", False),
    ("no-windows", [], "2026-11-30 04:00", False),
    # Berlin spring forward: 02:30 does not exist, the window opens at the transition
    ("berlin-gap-before-transition", [BERLIN_IN_GAP], "2026-03-29 00:59", False),
    ("berlin-gap-at-transition", [BERLIN_IN_GAP], "2026-03-29 01:00", True),
    ("berlin-gap-last-minute", [BERLIN_IN_GAP], "2026-03-29 01:59", True),
    ("berlin-gap-end-0400-cest", [BERLIN_IN_GAP], "2026-03-29 02:00", False),
    ("berlin-daily-short-day-open", [BERLIN_DAILY], "2026-03-29 02:30", True),
    ("berlin-daily-short-day-closed-0500-cest", [BERLIN_DAILY], "2026-03-29 03:00", False),
    ("berlin-normal-day-closed-0500-cet", [BERLIN_DAILY], "2026-03-28 04:00", False),
    ("berlin-window-inside-gap-never-opens", [BERLIN_WHOLLY_IN_GAP], "2026-03-29 01:00", False),
    # Berlin fall back: an ambiguous 02:30 means its first occurrence (CEST)
    ("berlin-ambiguous-before", [BERLIN_IN_GAP], "2026-10-25 00:29", False),
    ("berlin-ambiguous-first-0230", [BERLIN_IN_GAP], "2026-10-25 00:30", True),
    ("berlin-ambiguous-0359-cet", [BERLIN_IN_GAP], "2026-10-25 02:59", True),
    ("berlin-ambiguous-end-0400-cet", [BERLIN_IN_GAP], "2026-10-25 03:00", False),
    ("berlin-long-day-open-2300-utc", [BERLIN_DAILY], "2026-10-24 23:00", True),
    ("berlin-long-day-0459-cet", [BERLIN_DAILY], "2026-10-25 03:59", True),
    ("berlin-ends-ambiguous-first-pass", [BERLIN_ENDS_AMBIGUOUS], "2026-10-25 00:15", True),
    ("berlin-ends-ambiguous-second-pass", [BERLIN_ENDS_AMBIGUOUS], "2026-10-25 01:15", False),
    # New York spring forward
    ("ny-gap-before-transition", [NY_IN_GAP], "2026-03-08 06:59", False),
    ("ny-gap-at-transition", [NY_IN_GAP], "2026-03-08 07:00", True),
    ("ny-gap-end-0330-edt", [NY_IN_GAP], "2026-03-08 07:30", False),
    ("ny-sat-night-start-est", [NY_SAT_NIGHT], "2026-03-08 04:00", True),
    ("ny-sat-night-0259-edt", [NY_SAT_NIGHT], "2026-03-08 06:59", True),
    ("ny-sat-night-end-0300-edt", [NY_SAT_NIGHT], "2026-03-08 07:00", False),
    # New York fall back
    ("ny-ambiguous-before", [NY_AMBIGUOUS], "2026-11-01 05:29", False),
    ("ny-ambiguous-first-0130-edt", [NY_AMBIGUOUS], "2026-11-01 05:30", True),
    ("ny-ambiguous-0145-est", [NY_AMBIGUOUS], "2026-11-01 06:45", True),
    ("ny-ambiguous-end-0230-est", [NY_AMBIGUOUS], "2026-11-01 07:30", False),
    ("ny-ends-ambiguous-first-pass", [NY_ENDS_AMBIGUOUS], "2026-11-01 05:29", True),
    ("ny-ends-ambiguous-end", [NY_ENDS_AMBIGUOUS], "2026-11-01 05:30", False),
    ("ny-ends-ambiguous-second-pass", [NY_ENDS_AMBIGUOUS], "2026-11-01 06:15", False),
]


@pytest.mark.parametrize(("windows", "now", "expected"), cases(OPEN_CASES))
def test_window_open(windows, now, expected):
    assert window_open(windows, utc(now)) is expected


NEXT_CASES = [
    ("shanghai-from-saturday", [SHANGHAI_WEEKDAYS], "2026-11-28 12:00", "2026-11-29 17:00"),
    ("shanghai-after-monday-window", [SHANGHAI_WEEKDAYS], "2026-11-30 09:00", "2026-11-30 17:00"),
    (
        "shanghai-friday-evening-skips-weekend",
        [SHANGHAI_WEEKDAYS],
        "2026-12-04 12:00",
        "2026-12-06 17:00",
    ),
    ("sun-night", [SUN_NIGHT], "2026-11-29 12:00", "2026-11-29 23:00"),
    ("exactly-at-start", [SUN_NIGHT], "2026-11-29 23:00", "2026-11-29 23:00"),
    ("weekly-wraps-to-next-week", [SUN_NIGHT], "2026-11-30 00:30", "2026-12-06 23:00"),
    ("several-picks-earliest", [MON_MORNING, MON_EARLY], "2026-11-30 00:00", "2026-11-30 01:00"),
    ("berlin-gap-opens-at-transition", [BERLIN_IN_GAP], "2026-03-29 00:00", "2026-03-29 01:00"),
    (
        "berlin-wholly-in-gap-next-week",
        [BERLIN_WHOLLY_IN_GAP],
        "2026-03-29 00:00",
        "2026-04-05 00:00",
    ),
    ("berlin-ambiguous-first-occurrence", [BERLIN_IN_GAP], "2026-10-25 00:00", "2026-10-25 00:30"),
    ("berlin-daily-after-fall-back", [BERLIN_DAILY], "2026-10-25 05:00", "2026-10-26 00:00"),
    ("ny-gap-opens-at-transition", [NY_IN_GAP], "2026-03-08 05:00", "2026-03-08 07:00"),
    ("ny-ambiguous-first-occurrence", [NY_AMBIGUOUS], "2026-11-01 04:00", "2026-11-01 05:30"),
    ("ny-next-week-in-est", [NY_AMBIGUOUS], "2026-11-01 07:30", "2026-11-08 06:30"),
]


@pytest.mark.parametrize(("windows", "now", "expected"), cases(NEXT_CASES))
def test_next_window_start(windows, now, expected):
    assert next_window_start(windows, utc(now)) == utc(expected)


def test_next_window_start_is_none_beyond_the_horizon():
    monday_only = [window("Mon", "01:00", "03:00")]
    assert next_window_start(monday_only, utc("2026-12-01 00:00"), dt.timedelta(days=1)) is None
    assert next_window_start([], utc("2026-12-01 00:00")) is None


def test_guard_blocks_outside_configured_windows_with_the_next_opening():
    result = window_guard(
        cluster(), History(), policy(windows=[SHANGHAI_WEEKDAYS]), utc("2026-11-28 12:00")
    )
    assert result.reason is Reason.OUTSIDE_WINDOW
    assert result.detail == ("outside off-peak windows; next window opens 2026-11-29 17:00 UTC")
    assert result.next_eligible == utc("2026-11-29 17:00")


def test_guard_detail_shows_the_real_opening_after_a_dst_gap():
    result = window_guard(
        cluster(), History(), policy(windows=[BERLIN_IN_GAP]), utc("2026-03-29 00:00")
    )
    assert "next window opens 2026-03-29 01:00 UTC" in result.detail


WED_22_02_UTC = MaintainWindow(day="Wed", start=dt.time(22), end=dt.time(2))
MAINTENANCE = policy(windows=[], use_maintenance_window=True)

MAINTENANCE_CASES = [
    ("inside-after-midnight", WED_22_02_UTC, "2026-12-03 01:00", None),
    ("at-start", WED_22_02_UTC, "2026-12-02 22:00", None),
    ("before-start", WED_22_02_UTC, "2026-12-02 21:59", "2026-12-02 22:00"),
    ("at-end-waits-a-week", WED_22_02_UTC, "2026-12-03 02:00", "2026-12-09 22:00"),
    ("same-window-tuesday-night", WED_22_02_UTC, "2026-12-02 01:00", "2026-12-02 22:00"),
]


@pytest.mark.parametrize(("maintain", "now", "blocked_until"), cases(MAINTENANCE_CASES))
def test_guard_uses_the_cluster_maintenance_window_in_utc(maintain, now, blocked_until):
    result = window_guard(cluster(maintain_window=maintain), History(), MAINTENANCE, utc(now))
    if blocked_until is None:
        assert result.allowed
    else:
        assert result.reason is Reason.OUTSIDE_WINDOW
        assert result.next_eligible == utc(blocked_until)
        assert "maintenance window (Wed 22:00-02:00 UTC)" in result.detail


@pytest.mark.parametrize(
    "maintain",
    [None, MaintainWindow(day="Someday", start=dt.time(22), end=dt.time(2))],
    ids=["absent", "invalid-day"],
)
def test_guard_fails_closed_when_the_maintenance_window_is_unknown(maintain):
    result = window_guard(
        cluster(maintain_window=maintain), History(), MAINTENANCE, utc("2026-12-03 01:00")
    )
    assert result.reason is Reason.OUTSIDE_WINDOW
    assert "maintenance window unknown" in result.detail
    assert result.next_eligible is None


def test_configured_windows_take_precedence_over_the_maintenance_window():
    both = policy(windows=[MON_EARLY], use_maintenance_window=True)
    result = window_guard(
        cluster(maintain_window=WED_22_02_UTC), History(), both, utc("2026-12-03 01:00")
    )
    assert result.reason is Reason.OUTSIDE_WINDOW
    assert result.next_eligible == utc("2026-12-07 01:00")


IS_OPEN_CASES = [
    ("configured-open", policy(windows=[MON_EARLY]), None, "2026-11-30 02:00", True),
    ("configured-closed", policy(windows=[MON_EARLY]), None, "2026-11-30 04:00", False),
    ("maintenance-open", MAINTENANCE, WED_22_02_UTC, "2026-12-02 23:00", True),
    ("maintenance-closed", MAINTENANCE, WED_22_02_UTC, "2026-12-02 21:00", False),
    ("maintenance-unknown", MAINTENANCE, None, "2026-12-02 23:00", None),
    (
        "unrestricted",
        policy(windows=[], use_maintenance_window=False),
        None,
        "2026-12-02 21:00",
        True,
    ),
]


@pytest.mark.parametrize(("pol", "maintain", "now", "expected"), cases(IS_OPEN_CASES))
def test_is_window_open(pol, maintain, now, expected):
    assert is_window_open(cluster(maintain_window=maintain), pol, utc(now)) is expected
    assert window_guard(
        cluster(maintain_window=maintain), History(), pol, utc(now)
    ).allowed is bool(expected)
