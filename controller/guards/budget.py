"""The daily budget guard: at most `max_per_day` switchovers started per cluster in any rolling 24 h."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.guards.text import utc_text
from controller.model import ALLOW, Cluster, GuardResult, History, Outcome, Reason, block
from controller.settings import EffectivePolicy

DAY = dt.timedelta(hours=24)


def budget_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    limit = policy.max_per_day
    # Starts after `now` (clock skew) are counted too: fail closed.
    starts = sorted(
        r.started
        for r in history.switchovers
        if r.outcome is not Outcome.REJECTED and r.started > now - DAY
    )
    if len(starts) < limit:
        return ALLOW
    if limit == 0:
        return block(Reason.DAILY_BUDGET, "max_per_day is 0: automatic switchovers are disabled")
    # Enough of the oldest starts must age out to leave room for one more.
    until = starts[len(starts) - limit] + DAY
    return block(
        Reason.DAILY_BUDGET,
        f"{len(starts)} switchover(s) started in the last 24h (max_per_day {limit}); "
        f"budget frees up at {utc_text(until)}",
        until,
    )


SPEC = GuardSpec(
    "budget", budget_guard, frozenset({Reason.DAILY_BUDGET}), lifts_with_time=True, bypassable=True
)
