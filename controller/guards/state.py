"""The state guard: the cluster must be available, idle (no DWS task) and healthy enough."""

from __future__ import annotations

import datetime as dt

from controller.guards import GuardSpec
from controller.model import (
    ALLOW,
    SWITCHOVER_TASK,
    Cluster,
    GuardResult,
    History,
    Reason,
    block,
)
from controller.settings import EffectivePolicy

#: A sub_status flag meaning data redistribution runs: the cluster is busy even without a task.
FLAG_REDISTRIBUTING = "REDISTRIBUTING"


def state_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    if not cluster.available:
        return block(
            Reason.CLUSTER_NOT_AVAILABLE,
            f"cluster status is {cluster.status} (needs AVAILABLE or ACTIVE)",
        )
    if cluster.switching:
        return block(
            Reason.SWITCHOVER_IN_PROGRESS,
            f"a switchover is running (task_status {SWITCHOVER_TASK})",
        )
    if cluster.busy:
        # Unknown tasks count as busy too: DWS documents its task list as open-ended.
        return block(Reason.TASK_IN_PROGRESS, f"DWS task {cluster.task_status} is in progress")
    if FLAG_REDISTRIBUTING in cluster.sub_status:
        return block(
            Reason.TASK_IN_PROGRESS, "data redistribution is running (sub_status REDISTRIBUTING)"
        )
    if cluster.degraded and not policy.allow_degraded:
        return block(
            Reason.DEGRADED, "cluster is DEGRADED; set allow_degraded to switch over anyway"
        )
    if cluster.readonly and not policy.allow_readonly:
        return block(
            Reason.READONLY, "cluster is READONLY; set allow_readonly to switch over anyway"
        )
    return ALLOW


SPEC = GuardSpec(
    "state",
    state_guard,
    frozenset(
        {
            Reason.CLUSTER_NOT_AVAILABLE,
            Reason.SWITCHOVER_IN_PROGRESS,
            Reason.TASK_IN_PROGRESS,
            Reason.DEGRADED,
            Reason.READONLY,
        }
    ),
)
