"""Value types of the configuration: durations, times of day, time zones, weekdays, timestamps.

Each parses what a person writes in YAML or an environment variable and says clearly what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from controller.model import WEEKDAYS

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_ISO_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> dt.timedelta:
    """`90s`, `10m`, `6h`, `1d`, a number of seconds, or ISO-8601 (`PT10M`, `P1DT2H`)."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean")
    if isinstance(value, int | float):
        return dt.timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"a duration like 90s, 10m, 6h, 1d or PT10M, not {type(value).__name__}")
    text = value.strip()
    if m := _DURATION_RE.match(text):
        return dt.timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    iso = _ISO_DURATION_RE.match(text.upper())
    if iso and text.upper() not in ("P", "PT"):
        parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        return dt.timedelta(
            days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"]
        )
    raise ValueError(f"not a duration: {value!r} (use 90s, 10m, 6h, 1d or ISO-8601 like PT10M)")


def format_duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _non_negative(delta: dt.timedelta) -> dt.timedelta:
    if delta < dt.timedelta(0):
        raise ValueError("must not be negative")
    return delta


def _positive(delta: dt.timedelta) -> dt.timedelta:
    if delta <= dt.timedelta(0):
        raise ValueError("must be longer than zero")
    return delta


_to_str = PlainSerializer(format_duration, return_type=str)
Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration), _to_str]
NonNegativeDuration = Annotated[
    dt.timedelta, BeforeValidator(lambda v: _non_negative(parse_duration(v))), _to_str
]
PositiveDuration = Annotated[
    dt.timedelta, BeforeValidator(lambda v: _positive(parse_duration(v))), _to_str
]


def _parse_hhmm(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int):  # YAML 1.1 reads 01:00 unquoted as sexagesimal 60
        raise ValueError('write times as quoted strings, e.g. "01:00"')
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f"a time of day as HH:MM, not {value!r}")
    hours, minutes = (int(p) for p in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"not a time of day: {value!r}")
    return dt.time(hours, minutes)


def _parse_zone(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)"
        ) from exc


def _parse_day(value: object) -> str:
    text = str(value).strip()[:3].capitalize()
    if text not in WEEKDAYS:
        raise ValueError(f"not a weekday: {value!r} (use Mon..Sun)")
    return text


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-12-31T00:00:00+08:00")
    return value


TimeOfDay = Annotated[
    dt.time, BeforeValidator(_parse_hhmm), PlainSerializer(lambda t: t.strftime("%H:%M"))
]
Zone = Annotated[ZoneInfo, BeforeValidator(_parse_zone), PlainSerializer(str)]
Weekday = Annotated[str, BeforeValidator(_parse_day)]
AwareDatetime = Annotated[
    dt.datetime, AfterValidator(_aware), PlainSerializer(dt.datetime.isoformat)
]
