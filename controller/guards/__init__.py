"""The safety guards: one pure module per policy concept, each a `Guard` returning ALLOW or a block.

Guards do no I/O and never read a clock: `now` (timezone-aware) is always passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from controller.model import Cluster, GuardResult, History
from controller.settings import EffectivePolicy

Guard = Callable[[Cluster, History, EffectivePolicy, dt.datetime], GuardResult]

__all__ = ["Guard"]
