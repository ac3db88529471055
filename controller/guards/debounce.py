"""The debounce guard: a cluster must stay unbalanced for a while before anything runs."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.guards.text import duration_text, utc_text
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy


def debounce_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    # Unknown onset means "first seen now": the full wait starts here.
    since = history.unbalanced_since or now
    until = since + policy.min_unbalanced_duration
    if now >= until:
        return ALLOW
    return block(
        Reason.DEBOUNCING,
        f"unbalanced since {utc_text(since)}; min_unbalanced_duration "
        f"{duration_text(policy.min_unbalanced_duration)} runs until {utc_text(until)}",
        until,
    )


SPEC = GuardSpec("debounce", debounce_guard, frozenset({Reason.DEBOUNCING}), lifts_with_time=True)
