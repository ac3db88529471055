"""The cooldown guard: rest after the cluster's last switchover, whoever ran it."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.guards.text import duration_text, utc_text
from controller.model import (
    ALLOW,
    Cluster,
    GuardResult,
    History,
    Outcome,
    Reason,
    SwitchoverRecord,
    block,
)
from controller.settings import EffectivePolicy


def cooldown_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    rest = [
        (since + max(policy.cooldown, least), since, what) for since, what, least in _rests(history)
    ]
    if not rest:
        return ALLOW
    until, since, what = max(rest)
    if now >= until:
        return ALLOW
    rested = duration_text(until - since)
    return block(
        Reason.COOLDOWN,
        f"{what} {utc_text(since)}; cooldown {rested} until {utc_text(until)}",
        until,
    )


def _rests(history: History) -> list[tuple[dt.datetime, str, dt.timedelta]]:
    """Each instant the cooldown counts from, with words saying what happened then, and the
    least rest it asks for besides the cooldown (a caution may ask for more)."""
    rests = [
        (*_reference(record), dt.timedelta(0))
        for record in history.switchovers
        if record.outcome is not Outcome.REJECTED
    ]
    if history.caution_since is not None:
        what = f"{history.caution_why}, so assuming a switchover at"
        rests.append((history.caution_since, what, history.caution_for))
    return rests


def _reference(record: SwitchoverRecord) -> tuple[dt.datetime, str]:
    status = f"{record.trigger}, {record.outcome or 'still running'}"
    if record.ended is not None:
        return record.ended, f"last switchover ({status}) ended"
    # In flight, or its end was never seen: count from its start.
    return record.started, f"last switchover ({status}) started"


SPEC = GuardSpec(
    "cooldown", cooldown_guard, frozenset({Reason.COOLDOWN}), lifts_with_time=True, bypassable=True
)
