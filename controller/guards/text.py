"""How guard details spell instants and durations, so every detail reads the same way."""

from __future__ import annotations

import datetime as dt

from controller.config_types import format_duration


def utc_text(instant: dt.datetime) -> str:
    """`2026-11-27 01:12 UTC`."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration_text(delta: dt.timedelta) -> str:
    """`6h`, `10m`, `90s`: the same spelling as the configuration."""
    return format_duration(delta)
