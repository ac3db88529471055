"""The load gate's reads: Cloud Eye and Prometheus, once per cycle, for the clusters others allow.

Each such cluster gets its verdict for the load guard (`controller.guards.load`).

Clusters under the same load settings share one set of batch calls (Cloud Eye) and one round of
queries (Prometheus), so a balanced fleet, or one whose candidates are all held by the clock,
costs no call at all. Whatever cannot be read is `load_unknown`: the guard then holds the cluster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from controller.guards.load import gated
from controller.load.assess import LoadVerdict, assess
from controller.load.cloud_eye import Target
from controller.load.facts import Firing, Reading, Unknown
from controller.load.sources import LoadSources
from controller.model import Cluster
from controller.settings import EffectivePolicy, LoadSettings

Candidate = tuple[Cluster, EffectivePolicy]


class LoadGate:
    def __init__(self, sources: LoadSources | None) -> None:
        self.sources = sources

    async def verdicts(
        self, candidates: Sequence[Candidate], now: dt.datetime
    ) -> dict[str, LoadVerdict]:
        """Each gated candidate's verdict, by cluster id (ungated ones need none)."""
        groups: dict[int, tuple[LoadSettings, list[Cluster]]] = {}
        for cluster, policy in candidates:
            if gated(policy):
                groups.setdefault(id(policy.load), (policy.load, []))[1].append(cluster)
        verdicts: dict[str, LoadVerdict] = {}
        for load, clusters in groups.values():
            verdicts.update(await self._group(load, clusters, now))
        return verdicts

    async def _group(
        self, load: LoadSettings, clusters: list[Cluster], now: dt.datetime
    ) -> dict[str, LoadVerdict]:
        readings = await self._readings(load, clusters, now)
        blockers = await self._blockers(load)
        limits = load.cloud_eye.limits
        return {
            c.id: assess(readings.get(c.id) if limits else None, limits, blockers) for c in clusters
        }

    async def _readings(
        self, load: LoadSettings, clusters: list[Cluster], now: dt.datetime
    ) -> dict[str, Reading | Unknown]:
        cloud_eye = load.cloud_eye
        if not cloud_eye.limits:
            return {}
        if self.sources is None:  # gated but no sources were made: never pass for want of them
            return {c.id: Unknown("cloud_eye", "no Cloud Eye client") for c in clusters}
        targets = [Target(c.id, c.node_ids) for c in clusters]
        return await self.sources.cloud_eye(load).latest(
            targets,
            list(cloud_eye.limits),
            now=now,
            lookback=cloud_eye.lookback,
            filter=cloud_eye.filter,
        )

    async def _blockers(self, load: LoadSettings) -> list[Firing] | Unknown | None:
        if not load.prometheus.blockers:
            return None
        if self.sources is None:
            return Unknown("prometheus", "no Prometheus client")
        return await self.sources.prometheus(load).check(load.prometheus.blockers)
