"""The version guard: DWS only supports switchover from 8.1.1.202 on, whatever the policy says."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, Version, block
from controller.settings import EffectivePolicy

#: DWS refuses switchover below this version; a lower configured min_version cannot lift it.
DWS_MIN_VERSION = Version((8, 1, 1, 202))


def version_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    minimum = max(policy.min_version_parsed, DWS_MIN_VERSION)
    if cluster.version is not None and cluster.version >= minimum:
        return ALLOW
    floor_wins = policy.min_version_parsed < DWS_MIN_VERSION
    why = (
        f"(the DWS floor; min_version {policy.min_version} is lower)"
        if floor_wins
        else "(min_version)"
    )
    if cluster.version is None:
        shown = cluster.raw_version[:40] or "(none reported)"
        return block(
            Reason.VERSION_UNSUPPORTED,
            f"version {shown!r} is not a DWS version; switchover needs >= {minimum} {why}",
        )
    return block(
        Reason.VERSION_UNSUPPORTED,
        f"version {cluster.version} is below the minimum {minimum} {why}",
    )


SPEC = GuardSpec("version", version_guard, frozenset({Reason.VERSION_UNSUPPORTED}))
