"""The listing guard: a cluster id listed more than once in one answer is never acted on.

Two entries with one id (say one `SNAPSHOTTING`, one idle) contradict each other, and nothing
says which is true; acting on the idle one could switch over a busy cluster. Unknown means
don't act, so this runs first, whatever the entries' flags say.
"""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy


def listing_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    if not cluster.listing_ambiguous:
        return ALLOW
    return block(
        Reason.AMBIGUOUS_LISTING,
        f"cluster id {cluster.id} appears {cluster.listing_copies} times in one list answer",
    )


SPEC = GuardSpec("listing", listing_guard, frozenset({Reason.AMBIGUOUS_LISTING}))
