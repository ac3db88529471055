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
    last = _last_activity(history)
    if last is None:
        return ALLOW
    since, what = last
    until = since + policy.cooldown
    if now >= until:
        return ALLOW
    return block(
        Reason.COOLDOWN,
        f"{what} {utc_text(since)}; cooldown {duration_text(policy.cooldown)} until {utc_text(until)}",
        until,
    )


def _last_activity(history: History) -> tuple[dt.datetime, str] | None:
    """The latest instant the cooldown counts from, with words saying what happened then."""
    candidates = [
        _reference(record)
        for record in history.switchovers
        if record.outcome is not Outcome.REJECTED
    ]
    if history.caution_since is not None:
        candidates.append(
            (history.caution_since, "journal unreadable, so assuming a switchover at")
        )
    return max(candidates, key=lambda c: c[0], default=None)


def _reference(record: SwitchoverRecord) -> tuple[dt.datetime, str]:
    status = f"{record.trigger}, {record.outcome or 'still running'}"
    if record.ended is not None:
        return record.ended, f"last switchover ({status}) ended"
    # In flight, or its end was never seen: count from its start.
    return record.started, f"last switchover ({status}) started"


SPEC = GuardSpec(
    "cooldown", cooldown_guard, frozenset({Reason.COOLDOWN}), lifts_with_time=True, bypassable=True
)
