"""The pause guard: an operator paused the controller, so nothing runs, manual commands included."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy


def pause_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    if not history.paused:
        return ALLOW
    why = history.pause_reason or "no reason given"
    return block(Reason.PAUSED, f"controller is paused ({why}); resume it to allow switchovers")


SPEC = GuardSpec("pause", pause_guard, frozenset({Reason.PAUSED}))
