"""The blackout guard: configured periods (release freeze, year-end close) when nothing runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from controller.guards import GuardSpec
from controller.guards.text import utc_text
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import Blackout, EffectivePolicy


def blackout_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    active = _containing(policy.blackouts, now)
    if not active:
        return ALLOW
    first = active[0]
    end = blackouts_end(policy.blackouts, now)
    detail = f"blackout {first.reason!r} from {utc_text(first.start)} until {utc_text(first.end)}"
    if end != first.end:
        detail += f"; overlapping blackouts last until {utc_text(end)}"
    return block(Reason.BLACKOUT, detail, end)


def blackouts_end(blackouts: Sequence[Blackout], now: dt.datetime) -> dt.datetime:
    """The first instant at or after `now` not inside any blackout (chained ones followed through)."""
    end = now
    # Each step moves strictly forward to some blackout's end, so this ends after len(blackouts) steps.
    while covering := _containing(blackouts, end):
        end = max(b.end for b in covering)
    return end


def _containing(blackouts: Sequence[Blackout], instant: dt.datetime) -> list[Blackout]:
    return [b for b in blackouts if b.start <= instant < b.end]


SPEC = GuardSpec(
    "blackout", blackout_guard, frozenset({Reason.BLACKOUT}), lifts_with_time=True, bypassable=True
)
