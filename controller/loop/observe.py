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
class Listing:
    """One list answer, sorted into what the stages look for in one pass. The client returns the
    very same list for an answer equal to the last one, and that list is not walked again."""

    clusters: list[Cluster]
    by_id: dict[str, Cluster]
    unbalanced: list[Cluster]
    switching: list[Cluster]
    ambiguous: list[Cluster]

    @classmethod
    def of(cls, clusters: list[Cluster]) -> Listing:
        by_id = {c.id: c for c in clusters}
        unbalanced = [c for c in clusters if c.unbalanced]
        switching = [c for c in clusters if c.switching]
        ambiguous = [c for c in clusters if c.listing_ambiguous]
        return cls(clusters, by_id, unbalanced, switching, ambiguous)


@dataclass(frozen=True)
class Observation:
    """One cycle's view of the project: `by_id` is the raw list answer."""

    clusters: list[Cluster]  # as listed, with the maintenance windows the guards need attached
    by_id: dict[str, Cluster]
    since: dict[str, dt.datetime]
    listing: Listing
    detailed: dict[str, Cluster]  # the clusters of `clusters` that differ from `by_id`'s

    def current(self, cluster_id: str) -> Cluster:
        return self.detailed.get(cluster_id) or self.by_id[cluster_id]

    @property
    def unambiguous(self) -> dict[str, Cluster]:
        """An ambiguous list entry is no evidence of how a switchover went: those are read back."""
        if not self.listing.ambiguous:
            return self.by_id
        return {cid: c for cid, c in self.by_id.items() if not c.listing_ambiguous}


class Observer:
    def __init__(self, deps: LoopDeps, policy: Callable[[Cluster], EffectivePolicy]) -> None:
        self.deps = deps
        self.policy = policy
        self._details: dict[str, tuple[dt.datetime, Cluster]] = {}
        self._listing = Listing.of([])

    async def observe(self, now: dt.datetime) -> Observation:
        clusters = await self.deps.client.list_clusters(self.deps.settings.enterprise_project_id)
        if clusters is not self._listing.clusters:
            self._listing = Listing.of(clusters)
        listing = self._listing
        since = self.update_unbalanced_since(listing.unbalanced, now)
        detailed = {
            c.id: await self.with_detail(c, now) for c in listing.unbalanced if self.needs_detail(c)
        }
        if detailed:
            clusters = [detailed.get(c.id, c) for c in clusters]
        return Observation(clusters, listing.by_id, since, listing, detailed)

    def needs_detail(self, cluster: Cluster) -> bool:
        """Only an unbalanced cluster judged by its own maintenance window (a detail field)."""
        if not cluster.unbalanced:
            return False
        policy = self.policy(cluster)
        return not policy.windows and policy.use_maintenance_window

    def forget(self, cluster_id: str) -> None:
        self._details.pop(cluster_id, None)

    def update_unbalanced_since(
        self, unbalanced: list[Cluster], now: dt.datetime
    ) -> dict[str, dt.datetime]:
        """First-seen-unbalanced times, continuous: cleared as soon as a cluster is seen balanced
        (or not listed at all). `unbalanced` is every listed cluster that is unbalanced now."""
        journal = self.deps.journal
        known = journal.unbalanced_since()
        for cluster in unbalanced:
            if cluster.id not in known:
                journal.set_unbalanced_since(cluster.id, now)
                known[cluster.id] = now
        still = {c.id for c in unbalanced}
        for cleared in [cid for cid in known if cid not in still]:
            journal.set_unbalanced_since(cleared, None)
            del known[cleared]
        return known

    async def with_detail(self, cluster: Cluster, now: dt.datetime) -> Cluster:
        """Attach the maintenance window (detail only) when a guard will need it; cached for an hour."""
        if not self.needs_detail(cluster):
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
