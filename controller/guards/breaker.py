"""The breaker guard: stop after repeated failures, or once DWS refused us with 403."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy

_MAX_MESSAGE = 200  # DWS error text is echoed, but bounded so a huge body cannot flood logs


def breaker_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    if history.forbidden:
        return block(
            Reason.PERMISSION_DENIED,
            f"DWS refused the switchover with 403 ({history.forbidden[:_MAX_MESSAGE]}); grant the "
            "IAM action dws:cluster:switchover to the controller's credentials and restart it",
        )
    if breaker_tripped(history, policy):
        return block(
            Reason.BREAKER_OPEN,
            f"{history.consecutive_failures} consecutive failed switchovers (failure_limit "
            f"{policy.failure_limit}); a successful switchover (e.g. from the DWS console) "
            f"or `dws-rebalancer reset-breaker {cluster.name}` closes the breaker",
        )
    return ALLOW


def breaker_tripped(history: History, policy: EffectivePolicy) -> bool:
    """The failure count reached `failure_limit` (the `breaker_open` fact; a 403 is reported apart)."""
    return history.consecutive_failures >= policy.failure_limit


SPEC = GuardSpec(
    "breaker", breaker_guard, frozenset({Reason.PERMISSION_DENIED, Reason.BREAKER_OPEN})
)
