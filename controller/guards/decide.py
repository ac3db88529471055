"""The pure decision: ask every guard of the registry about one cluster and turn the answers into a Verdict.

No I/O and no clock: `now` is passed in. Logs, metrics and the journal are all written later from
the returned `Verdict`; nothing downstream asks a guard again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from controller.guards import GuardSpec
from controller.guards.breaker import breaker_tripped
from controller.guards.registry import GUARDS
from controller.guards.timewindow import is_window_open
from controller.model import Action, Cluster, Decision, GuardResult, History, Reason, Verdict
from controller.settings import EffectivePolicy

#: Bounds of the "when would it run" projection; past them next_eligible is None (unknown).
PROJECTION_HORIZON = dt.timedelta(days=30)
PROJECTION_STEPS = 64

_Answers = Sequence[tuple[GuardSpec, GuardResult]]


def judge(
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    now: dt.datetime,
    *,
    dry_run: bool = False,
    ignore_window: bool = False,
    registry: Sequence[GuardSpec] = GUARDS,
) -> Verdict:
    """Judge `cluster` at `now`: every guard's answer, and the first blocking guard gives the reason."""
    if now.tzinfo is None:
        raise ValueError("judge() needs a timezone-aware `now`")
    window_open = is_window_open(cluster, policy, now)
    breaker_open = breaker_tripped(history, policy)
    # An ambiguous listing may hide an unbalanced entry behind a balanced one: judge it anyway.
    if not cluster.unbalanced and not cluster.listing_ambiguous:
        return Verdict(_idle(cluster, now), (), window_open, breaker_open)
    specs = [spec for spec in registry if not (ignore_window and spec.bypassable)]
    answers = [(spec, spec.check(cluster, history, policy, now)) for spec in specs]
    decision = _decision_from(answers, cluster, history, policy, now, dry_run)
    results = tuple((spec.name, result) for spec, result in answers)
    return Verdict(decision, results, window_open, breaker_open)


def _decision_from(
    answers: _Answers,
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    now: dt.datetime,
    dry_run: bool,
) -> Decision:
    blocking = next(((spec, r) for spec, r in answers if not r.allowed), None)
    if blocking is not None:
        spec, result = blocking
        assert result.reason is not None  # block() always sets one
        when = None
        if spec.lifts_with_time:
            when = _next_eligible(cluster, history, policy, now, result.next_eligible, answers)
        return _decision(cluster, now, Action.BLOCKED, result.reason, result.detail, when)
    if dry_run:
        return _decision(cluster, now, Action.DRY_RUN, Reason.DRY_RUN, "dry run: would switch over")
    return _decision(cluster, now, Action.SWITCHOVER, Reason.ELIGIBLE, "all guards allow")


def _idle(cluster: Cluster, now: dt.datetime) -> Decision:
    if cluster.switching:
        return _decision(
            cluster, now, Action.NONE, Reason.SWITCHOVER_IN_PROGRESS, "a switchover is running"
        )
    flags = " | ".join(sorted(cluster.sub_status)) or "empty"
    return _decision(
        cluster, now, Action.NONE, Reason.NOT_UNBALANCED, f"sub_status is {flags}: nothing to do"
    )


def _next_eligible(
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    now: dt.datetime,
    first: dt.datetime | None,
    answers: _Answers,
) -> dt.datetime | None:
    """From `first`, the earliest instant when every time guard allows; None if another guard blocks now.

    Jumps from one blocker's next_eligible to the next until all time guards agree, assuming the
    history stays as it is (no new switchovers, still unbalanced).
    """
    if any(not spec.lifts_with_time and not result.allowed for spec, result in answers):
        return None
    timed = [spec for spec, _ in answers if spec.lifts_with_time]
    # Pin an unknown onset to now, or debounce would restart at every projected instant.
    pinned = dataclasses.replace(history, unbalanced_since=history.unbalanced_since or now)
    at = first
    for _ in range(PROJECTION_STEPS):
        if at is None or at > now + PROJECTION_HORIZON:
            return None
        still = _first_block(timed, cluster, pinned, policy, at)
        if still is None:
            return at
        # A guard that cannot say when, or would not move forward, ends the search: unknown.
        at = still.next_eligible if still.next_eligible and still.next_eligible > at else None
    return None


def _first_block(
    specs: list[GuardSpec],
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    at: dt.datetime,
) -> GuardResult | None:
    answers = (spec.check(cluster, history, policy, at) for spec in specs)
    return next((a for a in answers if not a.allowed), None)


def _decision(
    cluster: Cluster,
    now: dt.datetime,
    action: Action,
    reason: Reason,
    detail: str,
    next_eligible: dt.datetime | None = None,
) -> Decision:
    return Decision(
        cluster_id=cluster.id,
        cluster_name=cluster.name,
        action=action,
        reason=reason,
        detail=detail,
        at=now,
        next_eligible=next_eligible,
    )
