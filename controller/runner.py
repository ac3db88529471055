"""The controller's heartbeat: polls with jitter, tracks fast while a switchover runs, stops promptly.

A bad cycle is logged, counted and backed off, never fatal. On stop no new action starts; a POST
already on the wire is given a few seconds to complete and be journaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import signal
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import structlog

from controller.clock import Clock
from controller.config_types import format_duration
from controller.dws.errors import (
    AuthenticationError,
    DwsApiError,
    DwsTransportError,
    MalformedResponseError,
)
from controller.journal import JournalError
from controller.metrics import CycleErrorKind, Metrics
from controller.reconcile import Reconciler

log = structlog.get_logger("controller.runner")

#: Seconds a stopping controller waits for the current cycle (an in-flight POST) before giving up.
SHUTDOWN_GRACE = 8.0
JITTER = 0.1  # ±10 % on the poll interval, so many controllers don't hit the API in step
MAX_BACKOFF_FACTOR = 4  # a failing cycle retries after at most 4 poll intervals


def error_kind(exc: BaseException) -> CycleErrorKind:
    """Which `cycle_errors_total{kind}` a failed cycle counts under."""
    if isinstance(exc, AuthenticationError):
        return CycleErrorKind.DWS_AUTH
    if isinstance(exc, DwsApiError):
        return CycleErrorKind.DWS_API
    if isinstance(exc, DwsTransportError):
        return CycleErrorKind.DWS_TRANSPORT
    if isinstance(exc, MalformedResponseError):
        return CycleErrorKind.MALFORMED_RESPONSE
    if isinstance(exc, JournalError):
        return CycleErrorKind.JOURNAL
    return CycleErrorKind.INTERNAL


class Runner:
    def __init__(
        self,
        reconciler: Reconciler,
        metrics: Metrics,
        clock: Clock,
        *,
        time_scale: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.reconciler = reconciler
        self.settings = reconciler.settings
        self.metrics = metrics
        self.clock = clock
        self.time_scale = time_scale  # >1 in the demo: virtual seconds per real second
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.heartbeat: float | None = None  # real monotonic seconds of the last loop turn
        self.last_success: dt.datetime | None = None
        self.last_error: str | None = None
        self.failures = 0
        self._next_poll = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "controller_started",
            poll_interval=format_duration(self.settings.poll_interval),
            dry_run=self.settings.dry_run,
            tracked=len(self.reconciler.tracked),
        )
        self._next_poll = self.clock.monotonic()
        while not stop.is_set():
            self.heartbeat = time.monotonic()
            await self._guarded(self._step(), stop)
            if stop.is_set():
                break
            await self._sleep(stop, self._pause_seconds())
        log.info("controller_stopped", tracked=len(self.reconciler.tracked))

    async def _guarded(self, work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
        """Run one step; if stop arrives meanwhile, forbid new actions and bound the wait."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if task.done():
            return
        self.reconciler.stopping = True
        try:
            await asyncio.wait_for(task, timeout=SHUTDOWN_GRACE)
        except (TimeoutError, asyncio.CancelledError):
            log.warning(
                "shutdown_interrupted_cycle",
                detail="in-flight work abandoned; the journal keeps it for the next start",
            )

    async def _step(self) -> None:
        if self.clock.monotonic() >= self._next_poll:
            await self.cycle()
        elif self.reconciler.tracked:
            await self._track()

    async def cycle(self) -> bool:
        """One full reconcile cycle with its bookkeeping; True when it reached DWS and finished."""
        now = self.clock.now()
        started = time.perf_counter()
        try:
            await self.reconciler.reconcile_once(now)
        except Exception as exc:  # one bad cycle must never kill the controller
            return self._failed(exc, now, time.perf_counter() - started)
        self.failures = 0
        self.last_success = now
        self.last_error = None
        self.metrics.observe_cycle(
            seconds=time.perf_counter() - started, ok=True, error_kind=None, now=now
        )
        self._next_poll = self.clock.monotonic() + self._jittered(self.settings.poll_interval)
        return True

    def _failed(self, exc: Exception, now: dt.datetime, seconds: float) -> bool:
        kind = error_kind(exc)
        self.failures += 1
        self.last_error = f"{kind}: {exc}"
        backoff = self.settings.poll_interval * min(2 ** (self.failures - 1), MAX_BACKOFF_FACTOR)
        self._next_poll = self.clock.monotonic() + self._jittered(backoff)
        self.metrics.observe_cycle(seconds=seconds, ok=False, error_kind=kind, now=now)
        log.error(
            "cycle_failed",
            kind=kind,
            error=str(exc),
            consecutive=self.failures,
            retry_in=format_duration(backoff),
            exc_info=kind is CycleErrorKind.INTERNAL,
        )
        return False

    async def _track(self) -> None:
        try:
            await self.reconciler.track_once(self.clock.now())
        except Exception as exc:  # tracking retries at the next tick; the full poll also tracks
            log.warning("tracking_failed", kind=error_kind(exc), error=str(exc))

    def _pause_seconds(self) -> float:
        """Real seconds to the next step: the next poll, or the next tracking read if sooner."""
        wait = self._next_poll - self.clock.monotonic()
        if self.reconciler.tracked:
            wait = min(wait, self.settings.tracking_interval.total_seconds())
        return max(wait, 0.0) / self.time_scale

    def _jittered(self, interval: dt.timedelta) -> float:
        return interval.total_seconds() * (1 + self.rng.uniform(-JITTER, JITTER))

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set `stop` (a second signal is ignored: shutdown is already bounded)."""
    loop = asyncio.get_running_loop()
    sigs = (signal.SIGTERM, signal.SIGINT)
    for sig in sigs:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)
