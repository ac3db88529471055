"""How guard details spell instants and durations, so every detail reads the same way."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from controller.config_types import format_duration


def utc_text(instant: dt.datetime) -> str:
    """`2026-11-27 01:12 UTC`."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def local_text(instant: dt.datetime, zone: ZoneInfo) -> str:
    """`Mon 01:00 Asia/Shanghai`: the weekday and wall time a user configured the window in."""
    return f"{instant.astimezone(zone):%a %H:%M} {zone.key}"


def duration_text(delta: dt.timedelta) -> str:
    """`6h`, `10m`, `90s`: the same spelling as the configuration."""
    return format_duration(delta)
