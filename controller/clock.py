"""Time sources: the only place that reads the wall clock. Everything else is handed `now`."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def stopwatch() -> Callable[[], float]:
    """Real seconds elapsed since this call: how long work took (metrics), never what to decide."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


class ManualClock:
    """A clock that moves only when told to: tests and the emulator's virtual time."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(dt.UTC)
        self._mono = 0.0

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        seconds = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds
        return self._now

    def set(self, when: dt.datetime) -> None:
        self.advance(when.astimezone(dt.UTC) - self._now)


class ScaledClock:
    """Wall time running `factor` times faster from `start`: the demo's accelerated scenario."""

    def __init__(self, start: dt.datetime, factor: float, base: Clock | None = None) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self._base = base or SystemClock()
        self._start = start.astimezone(dt.UTC)
        self._origin = self._base.monotonic()
        self.factor = factor

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        return (self._base.monotonic() - self._origin) * self.factor
