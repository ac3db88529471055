"""The probe's loop on its own (a scripted check stands in for the database): it never fails its caller."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from controller.clock import SystemClock
from controller.probe import Probe, Target
from controller.probe.check import Outcome

CLOCK = SystemClock()
TARGET = Target("db.internal", 8000, "gaussdb", "dws_probe", SecretStr("pw"), interval=0.05)


class Scripted:
    """Answers from a script, one step per attempt; a step is an Outcome, an exception or a delay."""

    def __init__(self, *steps: Outcome | Exception | float) -> None:
        self.steps = list(steps)
        self.attempts = 0
        self.closed = False

    async def attempt(self) -> Outcome:
        step = self.steps[min(self.attempts, len(self.steps) - 1)]
        self.attempts += 1
        if isinstance(step, Exception):
            raise step
        if isinstance(step, float):
            await asyncio.sleep(step)
            return Outcome(True)
        return step

    async def close(self) -> None:
        self.closed = True


def probe_with(check: Scripted, target: Target = TARGET) -> Probe:
    return Probe(target, now=CLOCK.now, monotonic=CLOCK.monotonic, check=check, cluster="c")


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_crashing_attempt_is_counted_as_a_failed_sample_and_the_probe_goes_on() -> None:
    check = Scripted(Outcome(True), RuntimeError("boom"), Outcome(True))
    probe = probe_with(check)
    with capture_logs() as logs:
        probe.start()
        await until(lambda: len(probe.samples) >= 4)
        result = await probe.stop()
    assert probe.errors == 1
    assert [s.ok for s in probe.samples[:3]] == [True, False, True]
    assert result.failure_kinds == {"other": 1}
    assert result.recovered
    assert any(e["event"] == "probe_attempt_crashed" and e["error"] == "RuntimeError" for e in logs)
    assert check.closed


async def test_stop_without_start_is_an_empty_unknown_result() -> None:
    result = await probe_with(Scripted(Outcome(True))).stop()
    assert result.samples == 0
    assert result.client_interruption_seconds is None


async def test_a_probe_starts_once() -> None:
    probe = probe_with(Scripted(Outcome(True)))
    probe.start()
    with pytest.raises(RuntimeError, match="starts once"):
        probe.start()
    await probe.stop()
    assert not probe.running


class VirtualTime:
    """Seconds that pass only when the probe sleeps or an attempt takes time: exact beats."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Timed(Scripted):
    """Attempts that take the given virtual seconds each."""

    def __init__(self, time: VirtualTime, *durations: float) -> None:
        super().__init__(Outcome(True))
        self.time, self.durations = time, list(durations)

    async def attempt(self) -> Outcome:
        self.time.now += self.durations[min(self.attempts, len(self.durations) - 1)]
        self.attempts += 1
        await asyncio.sleep(0)
        return Outcome(True)


async def test_a_slow_attempt_skips_the_beats_it_covered_instead_of_bursting() -> None:
    time = VirtualTime()
    target = Target("h", 8000, "gaussdb", "u", SecretStr("pw"), interval=1.0)
    check = Timed(time, 0.01, 3.5, 0.01)  # the second attempt takes three and a half beats
    probe = Probe(target, now=CLOCK.now, monotonic=time.monotonic, check=check, sleep=time.sleep)
    probe.start()
    await until(lambda: len(probe.samples) >= 5)
    await probe.stop()
    starts = [round(s.started - 100.0, 6) for s in probe.samples[:5]]
    assert starts == [0.0, 1.0, 5.0, 6.0, 7.0]  # beats 2, 3 and 4 were covered by the slow one


async def test_samples_carry_the_injected_wall_time() -> None:
    fixed = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    probe = Probe(
        TARGET,
        now=lambda: fixed,
        monotonic=CLOCK.monotonic,
        check=Scripted(Outcome(False, "refused")),
    )
    probe.start()
    await until(lambda: len(probe.samples) >= 2)
    result = await probe.stop()
    assert {s.at for s in probe.samples} == {fixed}
    assert result.first_failure == fixed
    assert not result.recovered
