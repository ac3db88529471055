"""The observe stage: one list call, unbalanced-since bookkeeping, and maintenance-window details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from controller.dws.errors import DwsError
from controller.loop.deps import LoopDeps
from controller.model import Cluster
from controller.settings import EffectivePolicy

log = structlog.get_logger("controller.loop.observe")

#: Maintenance windows change rarely: fetch a cluster's detail at most this often.
DETAIL_TTL = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Observation:
    """One cycle's view of the project: `by_id` is the raw list answer."""

    clusters: list[Cluster]
    by_id: dict[str, Cluster]
    since: dict[str, dt.datetime]

    @property
    def unambiguous(self) -> dict[str, Cluster]:
        """An ambiguous list entry is no evidence of how a switchover went: those are read back."""
        return {cid: c for cid, c in self.by_id.items() if not c.listing_ambiguous}


class Observer:
    def __init__(self, deps: LoopDeps, policy: Callable[[Cluster], EffectivePolicy]) -> None:
        self.deps = deps
        self.policy = policy
        self._details: dict[str, tuple[dt.datetime, Cluster]] = {}

    async def observe(self, now: dt.datetime) -> Observation:
        clusters = await self.deps.client.list_clusters(self.deps.settings.enterprise_project_id)
        by_id = {c.id: c for c in clusters}
        since = self.update_unbalanced_since(clusters, now)
        detailed = [await self.with_detail(c, now) for c in clusters]
        return Observation(detailed, by_id, since)

    def forget(self, cluster_id: str) -> None:
        self._details.pop(cluster_id, None)

    def update_unbalanced_since(
        self, clusters: list[Cluster], now: dt.datetime
    ) -> dict[str, dt.datetime]:
        """First-seen-unbalanced times, continuous: cleared as soon as a cluster is seen balanced."""
        journal = self.deps.journal
        known = journal.unbalanced_since()
        live = {c.id for c in clusters}
        for cluster in clusters:
            if cluster.unbalanced and cluster.id not in known:
                journal.set_unbalanced_since(cluster.id, now)
                known[cluster.id] = now
            elif not cluster.unbalanced and cluster.id in known:
                journal.set_unbalanced_since(cluster.id, None)
                del known[cluster.id]
        for gone in set(known) - live:
            journal.set_unbalanced_since(gone, None)
            del known[gone]
        return known

    async def with_detail(self, cluster: Cluster, now: dt.datetime) -> Cluster:
        """Attach the maintenance window (detail only) when a guard will need it; cached for an hour."""
        policy = self.policy(cluster)
        if not (cluster.unbalanced and not policy.windows and policy.use_maintenance_window):
            return cluster
        cached = self._details.get(cluster.id)
        if cached is None or now - cached[0] >= DETAIL_TTL:
            try:
                detail = await self.deps.client.get_cluster(cluster.id)
            except DwsError as exc:  # the window guard fails closed on an unknown window
                log.warning("cluster_detail_failed", cluster=cluster.name, error=str(exc))
                return cluster
            cached = (now, detail)
            self._details[cluster.id] = cached
        return replace(cluster, maintain_window=cached[1].maintain_window)
