"""What the cycle publishes for `/status` and `status`: one immutable snapshot of the fleet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from controller.model import Cluster, Decision, History, SwitchoverRecord


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What the controller last knew about one cluster."""

    cluster: Cluster
    decision: Decision | None = None
    window_open: bool | None = None
    history: History | None = None
    breaker_open: bool = False
    failure_limit: int = 0
    tracked: SwitchoverRecord | None = None
    forbidden: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The fleet as of `at`, clusters sorted by name. Published whole; never changed after."""

    at: dt.datetime | None = None
    clusters: tuple[ClusterView, ...] = ()

    def view(self, cluster_id: str) -> ClusterView | None:
        return next((v for v in self.clusters if v.cluster.id == cluster_id), None)
