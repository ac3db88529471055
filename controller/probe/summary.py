"""What a probe's samples add up to: the client-visible interruption and when it began and ended.

Pure: no I/O, no clock. Durations come from the monotonic `started`/`finished` of each sample,
times of day from its `at`, so a wall-clock step during a switchover cannot bend the numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["refused", "timeout", "auth", "other"]
KINDS: tuple[Kind, ...] = ("refused", "timeout", "auth", "other")
#: An answer this much slower than twice the usual one came late, not just unevenly fast.
LATE_MARGIN = 0.05


@dataclass(frozen=True)
class Sample:
    """One probe attempt: wall time it began, monotonic start and finish, and how it went."""

    at: dt.datetime
    started: float
    finished: float
    ok: bool
    kind: Kind | None = None  # why it failed; None when ok

    @property
    def latency(self) -> float:
        return self.finished - self.started


@dataclass(frozen=True)
class Run:
    """One stretch of client-visible failure: from a failed (or hung) attempt to the next answer."""

    started: float
    ended: float
    began_at: dt.datetime
    recovered_at: dt.datetime | None  # None: still failing when the probe stopped

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended - self.started)


@dataclass(frozen=True)
class ProbeResult:
    """A switchover's data-plane numbers; `client_interruption_seconds` is None with no samples."""

    samples: int
    failures: int
    client_interruption_seconds: float | None
    failed_seconds: float
    first_failure: dt.datetime | None
    recovery: dt.datetime | None
    recovered: bool
    failure_kinds: Mapping[str, int] = field(default_factory=dict)

    def as_fields(self) -> dict[str, object]:
        """JSON-ready fields for the journal, events and `history` (times in ISO 8601)."""
        return {
            "samples": self.samples,
            "failures": self.failures,
            "client_interruption_seconds": _round(self.client_interruption_seconds),
            "failed_seconds": _round(self.failed_seconds),
            "first_failure": _iso(self.first_failure),
            "recovery": _iso(self.recovery),
            "recovered": self.recovered,
            "failure_kinds": dict(self.failure_kinds),
        }


def failure_runs(
    samples: Iterable[Sample], *, stopped: float | None = None, slow_after: float | None = None
) -> list[Run]:
    """Each run of failures, its edges halfway between the last good and the first bad attempt
    and between the last bad and the next good one: each edge is known only to lie between two
    beats, so the middle bounds the run's error by one interval wherever the outage falls.

    A late answer (a stalled network answers late, not never) ends its run at that answer less
    the usual latency; one slower than `slow_after` also opens a run. A run still open at the
    end lasts until `stopped` (or the last answer) and has no recovery.
    """
    ordered = sorted(samples, key=lambda s: s.started)
    # An answer slower than the quickest one came late because the endpoint was still stalled
    # when it began: it was good again only its usual latency before the answer.
    usual = min((s.latency for s in ordered if s.ok), default=0.0)
    runs: list[Run] = []
    opened: tuple[Sample, float] | None = None  # the first bad attempt, the run's estimated start
    good: float | None = None  # when the endpoint last answered
    bad = 0.0  # when the open run was last seen failing
    for sample in ordered:
        hung = sample.ok and slow_after is not None and sample.latency > slow_after
        if opened is None and (not sample.ok or hung):
            opened = (sample, sample.started if good is None else (good + sample.started) / 2)
        if not sample.ok:
            bad = sample.finished
        elif opened is not None:
            first, began = opened
            late = sample.latency > 2 * usual + LATE_MARGIN  # it began while still stalled
            ended = sample.finished - usual if late else (bad + sample.started) / 2
            recovered_at = sample.at + dt.timedelta(seconds=sample.latency)
            runs.append(Run(began, max(began, ended), first.at, recovered_at))
            opened = None
        if sample.ok:
            good = sample.finished
    if opened is not None:
        first, began = opened
        end = stopped if stopped is not None else max(s.finished for s in ordered)
        runs.append(Run(began, max(end, first.finished), first.at, None))
    return runs


def summarize(
    samples: Iterable[Sample], *, stopped: float | None = None, slow_after: float | None = None
) -> ProbeResult:
    """The result of a probe: longest and total failure, first failure and final recovery."""
    taken = list(samples)
    runs = failure_runs(taken, stopped=stopped, slow_after=slow_after)
    kinds = Counter(s.kind or "other" for s in taken if not s.ok)
    return ProbeResult(
        samples=len(taken),
        failures=sum(kinds.values()),
        client_interruption_seconds=max((r.seconds for r in runs), default=0.0) if taken else None,
        failed_seconds=sum(r.seconds for r in runs),
        first_failure=runs[0].began_at if runs else None,
        recovery=runs[-1].recovered_at if runs else None,
        recovered=not runs or runs[-1].recovered_at is not None,
        failure_kinds={k: kinds[k] for k in KINDS if kinds[k]},
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
