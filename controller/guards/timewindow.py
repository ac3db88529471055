"""The window guard and the pure off-peak window arithmetic behind it (zones, midnight, DST).

A window occurrence belongs to its start day and runs until `end` on that day, or on the next
day when `end <= start` (`end == start` is a full day). Local times are mapped to instants with
zoneinfo: an ambiguous time (DST fall-back) means its first occurrence (fold=0); a time that does
not exist (spring-forward gap) means the first valid instant after it, i.e. the transition.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from controller.guards import GuardSpec
from controller.guards.text import utc_text
from controller.model import (
    ALLOW,
    WEEKDAYS,
    Cluster,
    GuardResult,
    History,
    MaintainWindow,
    Reason,
    block,
)
from controller.settings import EffectivePolicy

ONE_DAY = dt.timedelta(days=1)
#: How far ahead the next opening is searched: every weekly window opens within this.
SEARCH_HORIZON = dt.timedelta(days=8)
UTC_ZONE = ZoneInfo("UTC")


class Span(Protocol):
    """What the arithmetic reads of a window: a configured `Window`, or a `MaintenanceSpan`."""

    @property
    def days(self) -> Sequence[str]: ...
    @property
    def start(self) -> dt.time: ...
    @property
    def end(self) -> dt.time: ...
    @property
    def timezone(self) -> ZoneInfo: ...


@dataclass(frozen=True)
class MaintenanceSpan:
    """A cluster's own maintenance window as a span: a plain value, cheap on the hot path."""

    days: tuple[str, ...]
    start: dt.time
    end: dt.time
    timezone: ZoneInfo = UTC_ZONE


def window_open(windows: Sequence[Span], now: dt.datetime) -> bool:
    """True when `now` lies inside an occurrence of any window (start inclusive, end exclusive)."""
    # An occurrence ends at most one local day after its start day, so two days cover `now`.
    return any(
        start <= now < end
        for window in windows
        for start, end in _occurrences(window, _local_day(now, window) - ONE_DAY, 2)
    )


def next_window_start(
    windows: Sequence[Span], now: dt.datetime, horizon: dt.timedelta = SEARCH_HORIZON
) -> dt.datetime | None:
    """The earliest instant at or after `now`, within `horizon`, at which some window opens."""
    opening = _next_opening(windows, now, horizon)
    return opening[0] if opening else None


def occurrence_end(windows: Sequence[Span], at: dt.datetime) -> dt.datetime | None:
    """When the window occurrence containing `at` ends (the latest, if several do); None outside."""
    ends = [
        end
        for window in windows
        for start, end in _occurrences(window, _local_day(at, window) - ONE_DAY, 2)
        if start <= at < end
    ]
    return max(ends, default=None)


def governing_windows(cluster: Cluster, policy: EffectivePolicy) -> Sequence[Span] | None:
    """The windows that apply: configured ones, else the cluster's maintenance window.

    An empty sequence means "no restriction"; None means the maintenance window is unknown.
    """
    if policy.windows:
        return policy.windows
    if not policy.use_maintenance_window:
        return ()
    return _maintenance_windows(cluster.maintain_window)


def is_window_open(cluster: Cluster, policy: EffectivePolicy, now: dt.datetime) -> bool | None:
    """Whether the window guard's window is open now; None when it cannot be known."""
    if policy.windows:
        return _configured_open(_Same(policy.windows), now)
    windows = governing_windows(cluster, policy)
    if windows is None:
        return None
    return not windows or window_open(windows, now)


class _Same:
    """A cache key meaning "this very object": configured windows are lists (unhashable) that
    live as long as their policy, and the key holds them, so an id is never reused meanwhile."""

    __slots__ = ("obj",)

    def __init__(self, obj: Sequence[Span]) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


# Every unbalanced cluster under one policy asks the same question at the same instants (the
# cycle's `now`, the projection's candidates): the zone arithmetic is done once per answer.
@functools.lru_cache(maxsize=4096)
def _configured_open(windows: _Same, now: dt.datetime) -> bool:
    return window_open(windows.obj, now)


@functools.lru_cache(maxsize=4096)
def _configured_block(windows: _Same, now: dt.datetime) -> GuardResult:
    return _outside(windows.obj, "off-peak windows", now)


#: A cluster as listed (no detail): what `governing_windows` sees for a balanced one.
_NO_DETAIL = Cluster(id="-", name="-", status="-")


class WindowFacts:
    """`is_window_open` at one instant for many clusters: worked out once per policy object.

    Only a cluster judged by its own maintenance window needs its own answer; every other one
    depends on its policy alone, and clusters under the same override share one policy object.
    """

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self._by_policy: dict[int, bool | None] = {}

    def __call__(self, cluster: Cluster, policy: EffectivePolicy) -> bool | None:
        if cluster.maintain_window is not None and not policy.windows:
            return is_window_open(cluster, policy, self.now)
        return self.of_policy(policy)

    def of_policy(self, policy: EffectivePolicy) -> bool | None:
        """The answer for any cluster under `policy` whose maintenance window is not known."""
        key = id(policy)
        if key not in self._by_policy:
            windows = governing_windows(_NO_DETAIL, policy)
            self._by_policy[key] = (
                None if windows is None else not windows or window_open(windows, self.now)
            )
        return self._by_policy[key]


def window_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    windows = governing_windows(cluster, policy)
    if windows is None:
        return block(
            Reason.OUTSIDE_WINDOW,
            "maintenance window unknown: no windows are configured, use_maintenance_window is on "
            "and DWS reported no valid maintain_window for the cluster",
        )
    if policy.windows:
        return (
            ALLOW
            if _configured_open(_Same(policy.windows), now)
            else _configured_block(_Same(policy.windows), now)
        )
    if not windows or window_open(windows, now):
        return ALLOW
    return _outside(windows, _maintenance_label(windows[0]), now)


def _outside(windows: Sequence[Span], label: str, now: dt.datetime) -> GuardResult:
    opening = _next_opening(windows, now, SEARCH_HORIZON)
    if opening is None:
        return block(Reason.OUTSIDE_WINDOW, f"outside {label}; none opens in the next 8 days")
    start, _ = opening
    return block(
        Reason.OUTSIDE_WINDOW,
        # UTC, like every other guard detail: one zone per line (the window's own zone is config).
        f"outside {label}; next window opens {utc_text(start)}",
        start,
    )


def _next_opening(
    windows: Sequence[Span], now: dt.datetime, horizon: dt.timedelta
) -> tuple[dt.datetime, ZoneInfo] | None:
    days = horizon.days + 2  # from the day before `now` to past the horizon in any zone
    openings = [
        (start, window.timezone)
        for window in windows
        for start, _ in _occurrences(window, _local_day(now, window) - ONE_DAY, days)
        if now <= start <= now + horizon
    ]
    return min(openings, key=lambda o: o[0], default=None)


def _occurrences(
    window: Span, first_day: dt.date, days: int
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """(start, end) instants of the window's occurrences starting on `days` local days from `first_day`."""
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in window.days:
            continue
        start = _instant(day, window.start, window.timezone)
        end_day = day if window.end > window.start else day + ONE_DAY
        end = _instant(end_day, window.end, window.timezone)
        # A window lying wholly inside a spring-forward gap does not open that day.
        if start < end:
            yield start, end


def _local_day(now: dt.datetime, window: Span) -> dt.date:
    return now.astimezone(window.timezone).date()


def _instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local wall time; fold=0 picks the first of two ambiguous instants."""
    wall = dt.datetime.combine(day, at, tzinfo=zone)
    instant = wall.astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _gap_end(wall)


def _gap_end(wall: dt.datetime) -> dt.datetime:
    """The transition instant ending the spring-forward gap that the non-existent `wall` falls in."""
    # fold=1 maps with the offset after the gap (an instant before the transition), fold=0 with
    # the one before it (at or after the transition): bisect between them to the second.
    naive = wall.replace(tzinfo=None)
    before = wall.replace(fold=1).astimezone(dt.UTC)
    after = wall.replace(fold=0).astimezone(dt.UTC)
    span = int((after - before).total_seconds())
    while span > 1:
        middle = before + dt.timedelta(seconds=span // 2)
        if middle.astimezone(wall.tzinfo).replace(tzinfo=None) > naive:
            after = middle
        else:
            before = middle
        span = int((after - before).total_seconds())
    return after


def _maintenance_windows(window: MaintainWindow | None) -> Sequence[Span] | None:
    if window is None or window.day not in WEEKDAYS:  # unknown, or a day DWS never sends: closed
        return None
    return (MaintenanceSpan((window.day,), window.start, window.end),)


def _maintenance_label(window: Span) -> str:
    return (
        f"the cluster's maintenance window ({window.days[0]} "
        f"{window.start:%H:%M}-{window.end:%H:%M} UTC)"
    )


SPEC = GuardSpec(
    "window",
    window_guard,
    frozenset({Reason.OUTSIDE_WINDOW}),
    lifts_with_time=True,
    bypassable=True,
)
