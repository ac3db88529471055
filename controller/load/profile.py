"""The hour-of-week load profile of a cluster, and the quietest upcoming hour allowed to run in.

Pure: hourly points in, a profile out; a profile, `now` and an "is it allowed then" predicate
in, a slot out. The load of an hour is the largest of its metrics taken as a fraction of their
limits (0.5 = half of the tightest limit), so metrics of different units combine. Hours are the
business's local hours (a zone, usually the windows' one): an ETL that runs at 01:00 local
runs at 01:00 on both sides of a DST change, so its slot stays the same local hour while its
UTC instant moves.

The predicate is the window arithmetic of `controller.guards.timewindow` (e.g.
`functools.partial(window_open, windows)`), handed in by the caller: this package and the
guards do not import each other.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from controller.load.facts import Point
from controller.model import WEEKDAYS

HOUR = dt.timedelta(hours=1)
#: The profile needs at least a week of history and uses at most four.
MIN_HISTORY = dt.timedelta(days=7)
MAX_HISTORY = dt.timedelta(days=28)
#: How far ahead a slot is looked for: every hour of the week comes once.
SLOT_HORIZON = dt.timedelta(days=7)
_SHADES = " .:-=+*#%@"

Slot = tuple[int, int]  # (weekday, 0 = Monday; hour, 0..23), local time


class ProfileError(Exception):
    """Not enough history to build a profile; the message says what is missing."""


@dataclass(frozen=True)
class Profile:
    """Expected load per local hour of the week; hours without history are absent."""

    zone: ZoneInfo
    expected: Mapping[Slot, float]
    built: dt.datetime
    #: The span of history it was built from.
    history: dt.timedelta

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the journal (read back with `from_dict`)."""
        return {
            "zone": self.zone.key,
            "built": self.built.isoformat(),
            "history_hours": self.history // HOUR,
            "expected": [[d, h, v] for (d, h), v in sorted(self.expected.items())],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            ZoneInfo(data["zone"]),
            {(int(d), int(h)): float(v) for d, h, v in data["expected"]},
            dt.datetime.fromisoformat(data["built"]),
            int(data["history_hours"]) * HOUR,
        )


@dataclass(frozen=True)
class Choice:
    """The quietest allowed upcoming hour: when to start, and the load expected then."""

    at: dt.datetime
    slot: Slot
    expected: float


def hourly_load(
    series: Iterable[tuple[str, Iterable[Point]]], limits: Mapping[str, float]
) -> list[Point]:
    """One point per hour: the largest metric/limit ratio among the series with a point then.

    `series` pairs a metric name with hourly points: a cluster metric once, a node metric once
    per node, so the busiest node counts (`((s.metric, p) for s, p in history.items())` for an
    answer of `CloudEyeClient.history`). A zero limit counts the raw value.
    """
    ratios: dict[dt.datetime, float] = {}
    for metric, points in series:
        limit = limits[metric]
        for point in points:
            ratio = point.value / limit if limit > 0 else point.value
            ratios[point.at] = max(ratio, ratios.get(point.at, ratio))
    return [Point(at, value) for at, value in sorted(ratios.items())]


def build_profile(points: Sequence[Point], zone: ZoneInfo, now: dt.datetime) -> Profile:
    """The mean load of each local hour of the week over the last 28 days of `points`."""
    recent = [p for p in points if now - MAX_HISTORY <= p.at <= now]
    if not recent:
        raise ProfileError("no hourly load history")
    span = max(p.at for p in recent) - min(p.at for p in recent)
    # 168 hourly points span 167 hours: one week of history.
    if span < MIN_HISTORY - HOUR:
        have = span // HOUR + 1
        raise ProfileError(f"the profile needs 7 days of hourly history, has {have} hours")
    by_slot: dict[Slot, list[float]] = defaultdict(list)
    for point in recent:
        by_slot[slot_of(point.at, zone)].append(point.value)
    expected = {slot: statistics.fmean(values) for slot, values in by_slot.items()}
    return Profile(zone, expected, now, span + HOUR)


def slot_of(instant: dt.datetime, zone: ZoneInfo) -> Slot:
    local = instant.astimezone(zone)
    return local.weekday(), local.hour


def quietest(
    profile: Profile,
    now: dt.datetime,
    allowed: Callable[[dt.datetime], bool],
    horizon: dt.timedelta = SLOT_HORIZON,
) -> Choice | None:
    """The upcoming hour with the lowest expected load among those `allowed` at their start.

    The current hour counts from `now`; the later ones from their local start. Ties go to the
    earliest. None when no allowed hour within `horizon` has history.
    """
    best: Choice | None = None
    for at in _hour_starts(now, profile.zone, horizon):
        slot = slot_of(at, profile.zone)
        expected = profile.expected.get(slot)
        if expected is None or not allowed(at):
            continue
        if best is None or expected < best.expected:
            best = Choice(at, slot, expected)
    return best


def _hour_starts(now: dt.datetime, zone: ZoneInfo, horizon: dt.timedelta) -> Iterable[dt.datetime]:
    """`now`, then the start of every later local hour up to `now + horizon`, as UTC instants."""
    yield now
    local = now.astimezone(zone)
    # Stepping in UTC from a local hour start stays on local hour starts: DST moves by whole
    # hours in the zones this is for, and a skipped local hour (spring forward) is simply absent.
    at = (local.replace(minute=0, second=0, microsecond=0) + HOUR).astimezone(dt.UTC)
    while at < now + horizon:
        yield at
        at += HOUR


def heatmap(profile: Profile) -> str:
    """The profile as 7 rows × 24 columns of shades (blank: quiet, `@`: busiest), with a legend."""
    top = max(profile.expected.values(), default=0.0) or 1.0
    lines = [f"     {''.join(str(h % 10) for h in range(24))}  ({profile.zone.key})"]
    for day, name in enumerate(WEEKDAYS):
        cells = "".join(_shade(profile.expected.get((day, hour)), top) for hour in range(24))
        lines.append(f"{name}  {cells}")
    lines.append(f"     ' ' quiet .. '@' {top:.2f} of the tightest limit; '?' no history")
    return "\n".join(lines)


def _shade(value: float | None, top: float) -> str:
    if value is None:
        return "?"
    return _SHADES[min(len(_SHADES) - 1, int(value / top * (len(_SHADES) - 1)))]
