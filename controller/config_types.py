"""Value types of the configuration: durations, times of day, time zones, weekdays, timestamps.

Each parses what a person writes in YAML or an environment variable and says clearly what is wrong.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from controller.model import WEEKDAYS

#: The longest duration accepted: beyond ten years a value is a typo (or `.inf`), not a policy,
#: and timedelta arithmetic on it would overflow somewhere far from the config file.
MAX_DURATION_DAYS = 3650
_MAX_SECONDS = MAX_DURATION_DAYS * 86400.0

_NUMBER = r"\d+(?:\.\d+)?"
_PLAIN_NUMBER_RE = re.compile(_NUMBER)
# Go/Prometheus style: one or more <number><unit>, largest unit first (`1h30m`, `1w2d`, `500ms`).
_UNIT_PART = rf"({_NUMBER})\s*(ms|s|m|h|d|w)\s*"
_UNITS_RE = re.compile(rf"(?:{_UNIT_PART})+")
_UNIT_PART_RE = re.compile(_UNIT_PART)
_ISO_DURATION_RE = re.compile(
    rf"^P(?:(?P<d>{_NUMBER})D)?(?:T(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?"
    rf"(?:(?P<s>{_NUMBER})S)?)?$"
)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_UNIT_ORDER = list(_UNIT_SECONDS)
_FORMS = "90s, 10m, 1h30m, 1d, 500ms, a number of seconds, or ISO-8601 like PT10M"


def parse_duration(value: object) -> dt.timedelta:
    """`90s`, `1h30m`, `1w2d`, `500ms`, seconds (`30`, `"1.5"`), or ISO-8601 (`PT10M`, `P1DT2H`).

    Refuses non-finite values and anything longer than MAX_DURATION_DAYS with a ValueError,
    so a config typo never escapes as an OverflowError traceback.
    """
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean")
    if isinstance(value, int | float):
        return _seconds(value, value)  # no float(): a YAML integer has no size limit
    if not isinstance(value, str):
        raise ValueError(f"a duration like {_FORMS}, not {type(value).__name__}")
    text = value.strip()
    if _PLAIN_NUMBER_RE.fullmatch(text):
        return _seconds(float(text), value)
    if _UNITS_RE.fullmatch(text):
        return _seconds(_unit_seconds(text, value), value)
    iso = _ISO_DURATION_RE.match(text.upper())
    if iso and text.upper() not in ("P", "PT"):
        parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        total = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
        return _seconds(total, value)
    raise ValueError(f"not a duration: {_shown(value)} (use {_FORMS})")


def _unit_seconds(text: str, value: str) -> float:
    total, last = 0.0, -1
    for number, unit in _UNIT_PART_RE.findall(text):
        rank = _UNIT_ORDER.index(unit)
        if rank <= last:  # `30m1h`, `1h1h`: most likely a typo, so refuse rather than guess
            raise ValueError(
                f"not a duration: {_shown(value)} (each unit at most once, largest first, e.g. 1h30m)"
            )
        last = rank
        total += float(number) * _UNIT_SECONDS[unit]
    return total


def _seconds(seconds: float, value: object) -> dt.timedelta:
    if isinstance(value, float) and not math.isfinite(value):  # YAML `.inf` / `.nan`
        raise ValueError(f"a duration must be a finite number of seconds, not {value!r}")
    # int/float comparison is exact, so a huge YAML integer is caught here rather than overflowing;
    # an absurdly long digit string has become float inf, which is caught too
    if abs(seconds) > _MAX_SECONDS:
        raise ValueError(
            f"duration out of range: {_shown(value)} (at most {MAX_DURATION_DAYS} days)"
        )
    return dt.timedelta(seconds=seconds)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}..."


_MICROSECOND = dt.timedelta(microseconds=1)


def format_duration(delta: dt.timedelta) -> str:
    """The shortest exact spelling parse_duration reads back (`6h`, `90m`, `1500ms`)."""
    if (
        delta.microseconds
    ):  # sub-second values (a 500ms tracking interval) must survive a round trip
        sign, micro = ("-" if delta < dt.timedelta(0) else ""), abs(delta) // _MICROSECOND
        millis, rest = divmod(micro, 1000)
        return f"{sign}{millis}{f'.{rest:03d}'.rstrip('0') if rest else ''}ms"
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


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (host may be empty: all interfaces) -> (host, port); ValueError names the problem.

    An IPv6 host is written in brackets, `[::]:9108` (every address, IPv4 included) or
    `[::1]:9108`, and returned without them. A bare `::1:9108` is refused: it cannot say where the
    address ends and the port begins.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
        raise ValueError(f"HOST:PORT, not {value!r}")
    if int(port) > 65535:
        raise ValueError(f"HOST:PORT with a port from 0 to 65535, not {value!r}")
    if host.startswith("[") and host.endswith("]"):
        return _ipv6_host(host[1:-1], value), int(port)
    if ":" in host or "[" in host or "]" in host:
        raise ValueError(f"an IPv6 host in brackets, e.g. [::]:{port}, not {value!r}")
    return host, int(port)


def _ipv6_host(host: str, value: str) -> str:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f"an IPv6 address inside the brackets, not {value!r}") from None
    return host


_HOST_PORT = re.compile(
    r"^\s*(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]/,]+)):(?P<port>\d{1,5})\s*$"
)


def parse_host_port(text: object) -> tuple[str, int] | None:
    """`"host:port"` or `"[v6]:port"` (the first of a comma-separated list) -> (host, port)."""
    if not isinstance(text, str):
        return None
    match = _HOST_PORT.match(text.split(",")[0])
    if match is None:
        return None
    port = int(match["port"])
    if not 1 <= port <= 65535:
        return None
    return (match["v6"] or match["host"]), port


def sql_endpoint(cluster: Mapping[str, object]) -> tuple[str, int] | None:
    """A DWS cluster object's private endpoint (`endpoints[].connect_info`), else its public one
    (`public_endpoints[].public_connect_info`), else None."""
    for key, info in (("endpoints", "connect_info"), ("public_endpoints", "public_connect_info")):
        entries = cluster.get(key)
        for entry in entries if isinstance(entries, list) else []:
            found = parse_host_port(entry.get(info)) if isinstance(entry, Mapping) else None
            if found is not None:
                return found
    return None


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
