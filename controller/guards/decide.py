"""The pure decision: run the guards in order over one cluster and turn the verdicts into a Decision.

No I/O and no clock: `now` is passed in. Logs, metrics and the journal are all written later from
the returned `Decision`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from controller.guards import Guard
from controller.guards.blackout import blackout_guard
from controller.guards.breaker import breaker_guard
from controller.guards.budget import budget_guard
from controller.guards.concurrency import concurrency_guard
from controller.guards.cooldown import cooldown_guard
from controller.guards.debounce import debounce_guard
from controller.guards.listing import listing_guard
from controller.guards.pause import pause_guard
from controller.guards.selection import selection_guard
from controller.guards.state import state_guard
from controller.guards.timewindow import window_guard
from controller.guards.version import version_guard
from controller.model import Action, Cluster, Decision, GuardResult, History, Reason
from controller.settings import EffectivePolicy

GUARDS: tuple[tuple[str, Guard], ...] = (
    ("listing", listing_guard),
    ("pause", pause_guard),
    ("selection", selection_guard),
    ("state", state_guard),
    ("version", version_guard),
    ("debounce", debounce_guard),
    ("blackout", blackout_guard),
    ("window", window_guard),
    ("cooldown", cooldown_guard),
    ("budget", budget_guard),
    ("breaker", breaker_guard),
    ("concurrency", concurrency_guard),
)
#: Guards whose block lifts by itself as time passes; they are the ones with a next_eligible.
TIME_GUARDS = frozenset({"debounce", "blackout", "window", "cooldown", "budget"})
#: What a manual `switchover --ignore-window` skips; safety guards (state, breaker...) always run.
IGNORE_WINDOW_BYPASSES = frozenset({"blackout", "window", "cooldown", "budget"})

#: Bounds of the "when would it run" projection; past them next_eligible is None (unknown).
PROJECTION_HORIZON = dt.timedelta(days=30)
PROJECTION_STEPS = 64


def decide(
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    now: dt.datetime,
    *,
    dry_run: bool = False,
    ignore_window: bool = False,
) -> Decision:
    """Decide what to do with `cluster` at `now`; the first blocking guard gives the reason."""
    if now.tzinfo is None:
        raise ValueError("decide() needs a timezone-aware `now`")
    # An ambiguous listing may hide an unbalanced entry behind a balanced one: judge it anyway.
    if not cluster.unbalanced and not cluster.listing_ambiguous:
        return _idle(cluster, now)
    guards = _active_guards(ignore_window)
    for name, guard in guards:
        result = guard(cluster, history, policy, now)
        if not result.allowed:
            assert result.reason is not None  # block() always sets one
            when = None
            if name in TIME_GUARDS:
                when = _next_eligible(cluster, history, policy, now, result.next_eligible, guards)
            return _decision(cluster, now, Action.BLOCKED, result.reason, result.detail, when)
    if dry_run:
        return _decision(cluster, now, Action.DRY_RUN, Reason.DRY_RUN, "dry run: would switch over")
    return _decision(cluster, now, Action.SWITCHOVER, Reason.ELIGIBLE, "all guards allow")


def evaluate_all(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> list[tuple[str, GuardResult]]:
    """Every guard's verdict at `now`, in order, without stopping at the first block (`status`'s "why")."""
    return [(name, guard(cluster, history, policy, now)) for name, guard in GUARDS]


def _idle(cluster: Cluster, now: dt.datetime) -> Decision:
    if cluster.switching:
        return _decision(
            cluster, now, Action.NONE, Reason.SWITCHOVER_IN_PROGRESS, "a switchover is running"
        )
    flags = " | ".join(sorted(cluster.sub_status)) or "empty"
    return _decision(
        cluster, now, Action.NONE, Reason.NOT_UNBALANCED, f"sub_status is {flags}: nothing to do"
    )


def _active_guards(ignore_window: bool) -> tuple[tuple[str, Guard], ...]:
    if not ignore_window:
        return GUARDS
    return tuple((name, guard) for name, guard in GUARDS if name not in IGNORE_WINDOW_BYPASSES)


def _next_eligible(
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    now: dt.datetime,
    first: dt.datetime | None,
    guards: tuple[tuple[str, Guard], ...],
) -> dt.datetime | None:
    """From `first`, the earliest instant when every time guard allows; None if a non-time guard blocks now.

    Jumps from one blocker's next_eligible to the next until all time guards agree, assuming the
    history stays as it is (no new switchovers, still unbalanced).
    """
    lasting = [g for name, g in guards if name not in TIME_GUARDS]
    if _first_block(lasting, cluster, history, policy, now) is not None:
        return None
    timed = [g for name, g in guards if name in TIME_GUARDS]
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
    guards: list[Guard],
    cluster: Cluster,
    history: History,
    policy: EffectivePolicy,
    at: dt.datetime,
) -> GuardResult | None:
    verdicts = (guard(cluster, history, policy, at) for guard in guards)
    return next((v for v in verdicts if not v.allowed), None)


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
