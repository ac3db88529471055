"""The guard registry: every guard's spec, in the order the guards are asked (a new guard is one line)."""

from __future__ import annotations

from controller.guards import (
    GuardSpec,
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
    breaker.SPEC,
    concurrency.SPEC,
)

#: What a manual `switchover --ignore-window` skips; safety guards (state, breaker...) always run.
IGNORE_WINDOW_BYPASSES = frozenset(spec.name for spec in GUARDS if spec.bypassable)
#: Guards whose block lifts by itself as time passes; they are the ones with a next_eligible.
TIME_GUARDS = frozenset(spec.name for spec in GUARDS if spec.lifts_with_time)
