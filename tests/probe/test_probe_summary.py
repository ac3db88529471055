"""The pure summary: samples in, client-visible interruption, failed seconds and times out."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.probe.summary import Sample, failure_runs, summarize

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def sample(start: float, ok: bool, *, latency: float = 0.01, kind: str | None = None) -> Sample:
    """An attempt `start` seconds in; a failure defaults to `refused`."""
    failed_kind = None if ok else (kind or "refused")
    at = T0 + dt.timedelta(seconds=start)
    return Sample(at, start, start + latency, ok, failed_kind)  # type: ignore[arg-type]


def beats(pattern: str, *, latency: float = 0.01) -> list[Sample]:
    """One sample a second: `.` answers, `x` refused, `t` timed out (after 2 s)."""
    out = []
    for i, c in enumerate(pattern):
        if c == ".":
            out.append(sample(i, True, latency=latency))
        else:
            kind = "timeout" if c == "t" else "refused"
            out.append(sample(i, False, latency=2.0 if c == "t" else latency, kind=kind))
    return out


@pytest.mark.parametrize(
    ("pattern", "interruption", "failed", "first", "recovery"),
    [
        # all answered: nothing interrupted, no times
        ("....", 0.0, 0.0, None, None),
        # one run: its edges halfway between the last answer (1.01) and the first failure (2),
        # and between the last failure (4.01) and the next answer (5): 1.505 to 4.505
        ("..xxx..", 3.0, 3.0, 2.0, 5.01),
        # two runs: the longest is the interruption, both add up to the failed seconds
        (".x..xxx.", 3.0, 1.0 + 3.0, 1.0, 7.01),
        # a single failed beat still counts: a client could have hit it
        ("..x..", 1.0, 1.0, 2.0, 3.01),
        # failing from the very first sample: the run starts there (0 to 1.505)
        ("xx..", 1.505, 1.505, 0.0, 2.01),
    ],
)
def test_runs_of_failures(
    pattern: str,
    interruption: float,
    failed: float,
    first: float | None,
    recovery: float | None,
) -> None:
    result = summarize(beats(pattern))
    assert result.samples == len(pattern)
    assert result.failures == pattern.count("x")
    assert result.client_interruption_seconds == pytest.approx(interruption)
    assert result.failed_seconds == pytest.approx(failed)
    assert result.first_failure == (None if first is None else T0 + dt.timedelta(seconds=first))
    assert result.recovery == (None if recovery is None else T0 + dt.timedelta(seconds=recovery))
    assert result.recovered


def test_no_samples_means_unknown_not_zero() -> None:
    result = summarize([])
    assert result.client_interruption_seconds is None
    assert result.samples == 0
    assert result.recovered


def test_a_run_still_open_lasts_until_the_probe_stopped() -> None:
    result = summarize(beats("..xx"), stopped=4.5)
    assert result.client_interruption_seconds == pytest.approx(4.5 - 1.505)
    assert result.recovery is None
    assert not result.recovered
    assert result.first_failure == T0 + dt.timedelta(seconds=2)


def test_without_a_stop_time_an_open_run_ends_at_the_last_answer() -> None:
    assert summarize(beats("..xx")).client_interruption_seconds == pytest.approx(3.01 - 1.505)


def test_a_hung_attempt_that_answers_late_ends_the_run_when_it_answers() -> None:
    # answered at 1 (until 1.01), timed out at 2 (2 s), then an attempt at 5 hung 0.8 s until
    # the stall ended: from halfway between 1.01 and 2 to the late answer, less the usual 10 ms
    samples = [sample(0, True), sample(1, True), sample(2, False, latency=2, kind="timeout")]
    samples += [sample(5, True, latency=0.8), sample(6, True)]
    result = summarize(samples, slow_after=1.0)
    assert result.client_interruption_seconds == pytest.approx(5.79 - 1.505)
    assert result.recovery == T0 + dt.timedelta(seconds=5.8)
    assert result.failure_kinds == {"timeout": 1}


def test_an_answer_slower_than_the_threshold_is_an_interruption_of_its_own() -> None:
    samples = [sample(0, True), sample(1, True, latency=1.7), sample(3, True)]
    slow = summarize(samples, slow_after=1.0).client_interruption_seconds
    assert slow == pytest.approx(
        2.69 - 0.505
    )  # halfway between 0.01 and 1, to its answer less 10 ms
    assert summarize(samples).client_interruption_seconds == 0.0  # no threshold: it answered


def test_samples_out_of_order_are_read_in_time_order() -> None:
    ordered = beats("..xx..")
    assert failure_runs(list(reversed(ordered))) == failure_runs(ordered)


def test_failure_kinds_are_counted_and_fields_are_json_ready() -> None:
    result = summarize(beats(".xt..x."))
    assert result.failure_kinds == {"refused": 2, "timeout": 1}
    fields = result.as_fields()
    assert fields["failures"] == 3
    assert fields["first_failure"] == "2026-03-02T01:00:01+00:00"
    assert fields["recovered"] is True
    assert isinstance(fields["client_interruption_seconds"], float)


@pytest.mark.parametrize("offset", [0.0, 0.01, 0.25, 0.5, 0.75, 0.99])
@pytest.mark.parametrize("length", [0.5, 1.0, 2.3, 4.0, 4.99])
def test_the_estimate_is_within_one_interval_wherever_the_outage_falls_between_beats(
    offset: float, length: float
) -> None:
    """A refused outage from 10 + offset lasting `length`, sampled every second (10 ms a try)."""
    begins, ends = 10 + offset, 10 + offset + length
    samples = [sample(i, not begins <= i < ends) for i in range(30)]
    measured = summarize(samples).client_interruption_seconds
    assert measured is not None
    if any(not s.ok for s in samples):
        assert abs(measured - length) <= 1.0
