"""The concurrency guard: at most so many switchovers in flight, per target and controller-wide.

`max_concurrent` counts the target's own; `max_concurrent_total`, every target's of this controller.
"""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy


def concurrency_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    running = history.in_flight_elsewhere
    if running >= policy.max_concurrent:
        return block(
            Reason.CONCURRENCY_LIMIT,
            f"{running} switchover(s) running on other clusters (max_concurrent"
            f" {policy.max_concurrent})",
        )
    cap, fleet = policy.max_concurrent_total, history.in_flight_fleet
    if cap is not None and fleet >= cap:
        return block(
            Reason.CONCURRENCY_LIMIT,
            f"{fleet} switchover(s) running across the targets (max_concurrent_total {cap})",
        )
    return ALLOW


SPEC = GuardSpec("concurrency", concurrency_guard, frozenset({Reason.CONCURRENCY_LIMIT}))
