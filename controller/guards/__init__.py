"""The safety guards: one pure module per policy concept, each a `Guard` returning ALLOW or a block.

Guards do no I/O and never read a clock: `now` (timezone-aware) is always passed in. Each guard
module ends with its `SPEC` (a `GuardSpec`), and `controller.guards.registry` lists them in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from controller.model import Cluster, GuardResult, History, Reason
from controller.settings import EffectivePolicy

Guard = Callable[[Cluster, History, EffectivePolicy, dt.datetime], GuardResult]


@dataclass(frozen=True)
class GuardSpec:
    """A guard describing itself: the decision code reads these facts, it keeps no tables of its own."""

    name: str
    check: Guard
    #: Every reason `check` may block with (a test holds each guard to it).
    reasons: frozenset[Reason]
    #: Its block lifts by itself as time passes, so a block comes with a `next_eligible`.
    lifts_with_time: bool = False
    #: A manual `switchover --ignore-window` skips it; safety guards never set this.
    bypassable: bool = False


__all__ = ["Guard", "GuardSpec"]
