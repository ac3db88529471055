"""The concurrency guard: at most `max_concurrent` switchovers in flight across the project."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy


def concurrency_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    running = history.in_flight_elsewhere
    if running < policy.max_concurrent:
        return ALLOW
    return block(
        Reason.CONCURRENCY_LIMIT,
        f"{running} switchover(s) running on other clusters (max_concurrent {policy.max_concurrent})",
    )


SPEC = GuardSpec("concurrency", concurrency_guard, frozenset({Reason.CONCURRENCY_LIMIT}))
