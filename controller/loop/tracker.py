"""Following a switchover to its end: a pure judgement of one observation of the tracked cluster.

The reconciler feeds it what DWS shows (or None when the cluster is gone); it answers
"still running", "confirmed running" or "finished with this outcome", with the interruption measured
from acceptance (or first sight) to the first observation of completion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from controller.model import Cluster, Outcome, SwitchoverRecord


@dataclass(frozen=True)
class Running:
    """Not finished. `confirm` is True the first time DWS shows the task for an unconfirmed POST."""

    confirm: bool = False


@dataclass(frozen=True)
class Finished:
    outcome: Outcome
    ended: dt.datetime
    interruption_seconds: float | None
    error: str | None = None


Step = Running | Finished


def assess(
    record: SwitchoverRecord,
    cluster: Cluster | None,
    now: dt.datetime,
    *,
    timeout: dt.timedelta,
    confirm_grace: dt.timedelta,
) -> Step:
    """Judge one observation of a tracked switchover.

    `confirm_grace` covers DWS's lag between accepting a POST and showing the task: until it has
    passed, an unconfirmed switchover on an idle, still unbalanced cluster is not yet a failure.
    """
    elapsed = now - record.started

    def finish(outcome: Outcome, error: str | None = None, measured: bool = True) -> Finished:
        seconds = max(elapsed.total_seconds(), 0.0) if measured else None
        return Finished(outcome, now, seconds, error)

    if cluster is None:
        return finish(Outcome.FAILED, "cluster disappeared while switching over", measured=False)
    if cluster.busy:  # our task, its failure, or another task that took over
        return _on_task(record, cluster, elapsed, timeout, finish)
    if not cluster.unbalanced:
        return finish(Outcome.SUCCEEDED)
    if not record.confirmed and elapsed < confirm_grace:
        return Running()
    if not record.confirmed:
        return finish(
            Outcome.FAILED,
            "the switchover POST had an unknown outcome and DWS never showed a switchover",
            measured=False,
        )
    return finish(Outcome.FAILED, "switchover ended but the cluster is still unbalanced")


def _on_task(
    record: SwitchoverRecord,
    cluster: Cluster,
    elapsed: dt.timedelta,
    timeout: dt.timedelta,
    finish: Callable[..., Finished],
) -> Step:
    """A task shows on the cluster: ours, or another that took over (an intermediate state)."""
    if cluster.switching:
        if elapsed > timeout:
            return finish(Outcome.TIMED_OUT, f"still switching after {timeout}", measured=False)
        return Running(confirm=not record.confirmed)
    if cluster.switchover_failed:
        return finish(Outcome.FAILED, "DWS reports ACTIVE_STANDY_SWITCHOVER_FAILURE")
    # Another task took over (or DWS shows an intermediate state): keep watching until timeout.
    if elapsed > timeout:
        return finish(Outcome.TIMED_OUT, f"task {cluster.task_status} after {timeout}", False)
    return Running()
