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
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import structlog

from controller.clock import Clock, stopwatch
from controller.config_types import format_duration
from controller.dws.errors import (
    AuthenticationError,
    DwsApiError,
    DwsTransportError,
    MalformedResponseError,
)
from controller.journal import JournalError
from controller.loop.cycle import Reconciler
from controller.record.events import CycleFailed, CycleFinished
from controller.record.metrics import CycleErrorKind

log = structlog.get_logger("controller.loop.runner")

#: Seconds a stopping controller waits for the current cycle (an in-flight POST) before giving up.
SHUTDOWN_GRACE = 8.0
JITTER = 0.1  # ±10 % on the poll interval, so many controllers don't hit the API in step
MAX_BACKOFF_FACTOR = 4  # a failing cycle retries after at most 4 poll intervals
#: Real seconds of slack on top of the longest legitimate pause (journal writes, a POST, a busy
#: event loop): liveness must never fail a loop that is merely waiting for DWS.
LIVENESS_MARGIN = 60.0

#: How the loop waits: `sleep(stop, seconds)` returns after `seconds` or as soon as `stop` is set.
Sleep = Callable[[asyncio.Event, float], Awaitable[None]]


@dataclass(frozen=True)
class CycleResult:
    """The last full cycle attempt, as `/status` shows it."""

    at: dt.datetime
    ok: bool
    seconds: float
    error: str | None = None


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
        clock: Clock,
        *,
        time_scale: float = 1.0,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
        gate: asyncio.Semaphore | None = None,
    ) -> None:
        self.reconciler = reconciler
        #: Shared by every target's runner: at most so many steps at once (a fleet's bound).
        self._gate = gate
        self.settings = reconciler.settings
        self.recorder = reconciler.recorder
        self.clock = clock
        self.time_scale = time_scale  # >1 in the demo: virtual seconds per real second
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._sleep = sleep or _wait_for_stop
        self.started: dt.datetime | None = None
        # Liveness, on `clock.monotonic()`: when the current step began (None between steps)
        # and when the loop last finished one (or started).
        self.step_started: float | None = None
        self.last_turn: float | None = None
        self.last_cycle: CycleResult | None = None
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
        self.started = self.clock.now()
        self._next_poll = self.last_turn = self.clock.monotonic()
        while not stop.is_set():
            async with self._gate or contextlib.nullcontext():
                self.step_started = self.clock.monotonic()
                try:
                    await self._guarded(self._step(), stop)
                finally:
                    self.step_started, self.last_turn = None, self.clock.monotonic()
            if stop.is_set():
                break
            await self._sleep(stop, self._pause_seconds())
        await self.reconciler.shutdown(self.clock.now())
        log.info("controller_stopped", tracked=len(self.reconciler.tracked))

    def liveness_limit(self) -> float:
        """Seconds (on `clock`) the loop may spend in one step or one pause and still be alive.

        The longest legitimate pause is the maximum back-off (jittered); the longest legitimate
        step is a read that exhausts its retry budget with a last attempt running into the
        request timeout. Both real-time bounds scale with the demo's accelerated clock. A DWS
        outage never exceeds this: only a loop that is really stuck does.
        """
        longest_pause = (
            self.settings.poll_interval.total_seconds() * MAX_BACKOFF_FACTOR * (1 + JITTER)
        )
        longest_read = (
            self.reconciler.client.retry.budget + self.settings.request_timeout.total_seconds()
        )
        return longest_pause + (longest_read + LIVENESS_MARGIN) * self.time_scale

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
        elapsed = stopwatch()
        try:
            await self.reconciler.reconcile_once(now)
        except Exception as exc:  # one bad cycle must never kill the controller
            return self._failed(exc, now, elapsed())
        seconds = elapsed()
        self.failures = 0
        self.last_success = now
        self.last_error = None
        self.last_cycle = CycleResult(now, ok=True, seconds=seconds)
        self.recorder.record(CycleFinished(now, seconds))
        self._next_poll = self.clock.monotonic() + self._jittered(self.settings.poll_interval)
        return True

    def _failed(self, exc: Exception, now: dt.datetime, seconds: float) -> bool:
        kind = error_kind(exc)
        self.failures += 1
        self.last_error = f"{kind}: {exc}"
        self.last_cycle = CycleResult(now, ok=False, seconds=seconds, error=self.last_error)
        backoff = self.settings.poll_interval * min(2 ** (self.failures - 1), MAX_BACKOFF_FACTOR)
        self._next_poll = self.clock.monotonic() + self._jittered(backoff)
        internal = kind is CycleErrorKind.INTERNAL
        retry_in = format_duration(backoff)
        self.recorder.record(
            CycleFailed(now, seconds, kind, exc, self.failures, retry_in, internal)
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


async def _wait_for_stop(stop: asyncio.Event, seconds: float) -> None:
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
