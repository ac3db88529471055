"""The probe as a background task: one attempt every `interval` from start() until stop().

It never blocks or fails its caller: start() only schedules a task, stop() cancels it and
returns the summary at once, and whatever goes wrong inside is logged and counted, not raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from controller.logs import scrub
from controller.probe.check import Outcome, SqlCheck
from controller.probe.endpoint import Target
from controller.probe.summary import ProbeResult, Sample, summarize

log = structlog.get_logger("controller.probe")


class Check(Protocol):
    async def attempt(self) -> Outcome: ...

    async def close(self) -> None: ...


class Probe:
    """Samples one target on a fixed beat; an attempt that overruns skips the beats it covered."""

    def __init__(
        self,
        target: Target,
        *,
        now: Callable[[], dt.datetime],
        monotonic: Callable[[], float],
        check: Check | None = None,
        cluster: str = "",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.target = target
        self.cluster = cluster
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep  # with `monotonic`: a test's virtual time makes the beat exact
        self._check: Check = check if check is not None else SqlCheck(target)
        self.samples: list[Sample] = []
        self.errors = 0  # attempts that crashed inside the probe (a bug, not an outage)
        self._task: asyncio.Task[None] | None = None
        self._origin = 0.0
        self._failing = False

    def __repr__(self) -> str:
        return f"Probe({self.target}, samples={len(self.samples)})"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Begin sampling now, in the running event loop; the first attempt is immediate."""
        if self._task is not None:
            raise RuntimeError("a probe starts once")
        self._origin = self._monotonic()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"probe {self.cluster or self.target.host}"
        )

    async def stop(self) -> ProbeResult:
        """End sampling (an attempt in flight is dropped) and summarise what was seen."""
        stopped = self._monotonic()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                self.errors += 1  # the loop itself broke: counted, and the samples still count
        with contextlib.suppress(Exception):
            await self._check.close()
        result = summarize(self.samples, stopped=stopped, slow_after=self.target.interval)
        log.info("probe_stopped", cluster=self.cluster, errors=self.errors, **result.as_fields())
        return result

    async def _run(self) -> None:
        interval = self.target.interval
        beat = 0
        while True:
            delay = self._origin + beat * interval - self._monotonic()
            if delay > 0:
                await self._sleep(delay)
            await self._sample()
            # the next beat still ahead: a slow attempt does not cause a burst of catch-up ones
            beat = max(beat + 1, math.floor((self._monotonic() - self._origin) / interval) + 1)

    async def _sample(self) -> None:
        at, started = self._now(), self._monotonic()
        try:
            outcome = await self._check.attempt()
        except Exception as exc:  # not CancelledError: stop() must still end the task
            self.errors += 1
            log.warning("probe_attempt_crashed", cluster=self.cluster, error=type(exc).__name__)
            outcome = Outcome(False, "other", type(exc).__name__)
        sample = Sample(at, started, self._monotonic(), outcome.ok, outcome.kind)
        self.samples.append(sample)
        self._log_change(sample, outcome)

    def _log_change(self, sample: Sample, outcome: Outcome) -> None:
        """One line when the endpoint starts failing and one when it answers again."""
        if not sample.ok and not self._failing:
            error = scrub(outcome.error or "")
            log.info("probe_failing", cluster=self.cluster, kind=sample.kind, error=error)
        elif sample.ok and self._failing:
            log.info("probe_answering_again", cluster=self.cluster)
        self._failing = not sample.ok
