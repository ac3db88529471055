"""The quietest-slot guard: under `load.schedule: quietest`, wait for the quietest allowed hour.

Pure, like every guard. The cycle hands in, per cluster, a planner built from the cluster's
hour-of-week load profile (`functools.partial(controller.load.profile.quietest, profile)`), or
the reason it has none; the guard asks the planner for the quietest upcoming hour inside the
cluster's windows and allows only within it. The decision's `next_eligible` is that hour, known
in advance. No profile means the quiet hour is unknown: blocked with `load_unknown` (fail closed).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Protocol

from controller.guards import Guard, GuardSpec
from controller.guards.text import utc_text
from controller.guards.timewindow import governing_windows, window_open
from controller.model import ALLOW, WEEKDAYS, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy

REASONS = frozenset({Reason.AWAITING_QUIET_SLOT, Reason.LOAD_UNKNOWN})


class SlotChoice(Protocol):
    """What the guard reads of a choice (`controller.load.profile.Choice` has it)."""

    @property
    def at(self) -> dt.datetime: ...
    @property
    def slot(self) -> tuple[int, int]: ...
    @property
    def expected(self) -> float: ...


#: (now, "may it start at this instant") → the quietest allowed upcoming hour, or None.
Planner = Callable[[dt.datetime, Callable[[dt.datetime], bool]], SlotChoice | None]


def quietest_schedule(policy: EffectivePolicy) -> bool:
    return policy.load.schedule == "quietest"


def slot_guard(planners: Mapping[str, Planner | str]) -> Guard:
    """A guard answering from `planners` (by cluster id; a string says why there is none)."""
    memo: dict[tuple[str, dt.datetime], GuardResult] = {}

    def check(
        cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
    ) -> GuardResult:
        if not quietest_schedule(policy):
            return ALLOW
        key = (cluster.id, now)  # one search per cluster and instant: asked again by the cycle
        if key not in memo:
            memo[key] = _answer(cluster, policy, now, planners.get(cluster.id))
        return memo[key]

    return check


def _answer(
    cluster: Cluster, policy: EffectivePolicy, now: dt.datetime, planner: Planner | str | None
) -> GuardResult:
    if planner is None:
        return block(Reason.LOAD_UNKNOWN, "no load profile for the cluster yet")
    if isinstance(planner, str):
        return block(Reason.LOAD_UNKNOWN, f"no load profile: {planner}")
    allowed = allowed_hours(cluster, policy)
    if allowed is None:  # the window guard says why; no hour is known to be allowed
        return block(Reason.LOAD_UNKNOWN, "the cluster's maintenance window is unknown")
    choice = planner(now, allowed)
    if choice is None:
        return block(Reason.LOAD_UNKNOWN, "no allowed hour with load history in the coming week")
    if choice.at <= now:
        return ALLOW  # this very hour is the quietest allowed one
    day, hour = choice.slot
    return block(
        Reason.AWAITING_QUIET_SLOT,
        f"the quietest allowed hour is {WEEKDAYS[day]} {hour:02d}:00 local, at"
        f" {utc_text(choice.at)}, expected load {choice.expected:.2f} of the tightest limit",
        choice.at,
    )


def allowed_hours(
    cluster: Cluster, policy: EffectivePolicy
) -> Callable[[dt.datetime], bool] | None:
    """Whether a switchover may start at an instant, by the cluster's windows (None: unknown)."""
    windows = governing_windows(cluster, policy)
    if windows is None:
        return None
    return functools.partial(window_open, windows) if windows else _any_hour


def _any_hour(at: dt.datetime) -> bool:
    return True


def slot_spec(planners: Mapping[str, Planner | str]) -> GuardSpec:
    """The slot guard over this cycle's planners: asked right after the blackout guard.

    Before the window guard, so a cluster waiting for its quiet hour says so (the slot lies
    inside the windows by construction), with that hour as its next_eligible.

    Its block lifts with time (at the chosen hour), and `--ignore-window` skips it: a manual
    switchover chooses its own time. The load gate, a safety guard, still applies then.
    """
    return GuardSpec(
        "quiet_slot", slot_guard(planners), REASONS, lifts_with_time=True, bypassable=True
    )
