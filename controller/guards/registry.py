"""The guard registry: every guard's spec, in the order the guards are asked (a new guard is one line)."""

from __future__ import annotations

from collections.abc import Sequence

from controller.guards import (
    GuardSpec,
    approval,
    blackout,
    breaker,
    budget,
    concurrency,
    cooldown,
    debounce,
    listing,
    pause,
    selection,
    state,
    timewindow,
    version,
)

GUARDS: tuple[GuardSpec, ...] = (
    listing.SPEC,
    pause.SPEC,
    selection.SPEC,
    state.SPEC,
    version.SPEC,
    debounce.SPEC,
    blackout.SPEC,
    timewindow.SPEC,
    cooldown.SPEC,
    budget.SPEC,
    approval.SPEC,  # people's say: after the time guards, before the safety guards it never bypasses
    breaker.SPEC,
    concurrency.SPEC,
)

#: What a manual `switchover --ignore-window` skips; safety guards (state, breaker...) always run.
IGNORE_WINDOW_BYPASSES = frozenset(spec.name for spec in GUARDS if spec.bypassable)
#: Guards whose block lifts by itself as time passes; they are the ones with a next_eligible.
TIME_GUARDS = frozenset(spec.name for spec in GUARDS if spec.lifts_with_time)


def with_spec(
    registry: Sequence[GuardSpec], spec: GuardSpec, *, after: str
) -> tuple[GuardSpec, ...]:
    """`registry` with `spec` asked right after the guard named `after` (a per-cycle guard)."""
    names = [s.name for s in registry]
    at = names.index(after) + 1
    return (*registry[:at], spec, *registry[at:])
