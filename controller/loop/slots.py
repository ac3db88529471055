"""The quietest-slot schedule's data: each cluster's load profile, built from Cloud Eye history.

Only unbalanced clusters under `load.schedule: quietest` need one. A profile is built from the
last 28 days of hourly Cloud Eye data (at least 7), kept in the journal so that a restart reads
it instead of fetching again, and rebuilt once a day, or at once when its basis (limits, zone)
changed. A profile that cannot be rebuilt stays in use for a week past its refresh; a cluster
without one is held with `load_unknown` by the slot guard (`controller.guards.slot`), and the
fetch is tried again after `RETRY_AFTER`, not every cycle: 28 days of points are not cheap.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from controller.guards.slot import Planner, quietest_schedule
from controller.journal import Journal
from controller.load.cloud_eye import Target
from controller.load.facts import Unknown
from controller.load.profile import Profile, ProfileError, build_profile, hourly_load, quietest
from controller.load.sources import LoadSources
from controller.model import Cluster
from controller.settings import EffectivePolicy, LoadSettings

log = structlog.get_logger("controller.loop.slots")

#: A profile is rebuilt once a day; one that cannot be rebuilt serves a week longer at most.
REFRESH_EVERY = dt.timedelta(days=1)
STALE_LIMIT = dt.timedelta(days=8)
#: After a failed fetch, the next try waits this long.
RETRY_AFTER = dt.timedelta(minutes=15)
UTC_ZONE = ZoneInfo("UTC")

Candidate = tuple[Cluster, EffectivePolicy]


def profile_zone(policy: EffectivePolicy) -> ZoneInfo:
    """The business's local hours: the windows' zone (the maintenance window's is UTC)."""
    return policy.windows[0].timezone if policy.windows else UTC_ZONE


def basis(policy: EffectivePolicy) -> dict[str, Any]:
    """What a profile depends on besides the history: a change means a rebuild."""
    return {"limits": dict(policy.load.cloud_eye.limits), "zone": profile_zone(policy).key}


class QuietSlots:
    """Keeps the profiles (memory, then the journal) and hands the slot guard its planners."""

    def __init__(self, journal: Journal, sources: LoadSources | None) -> None:
        self.journal = journal
        self.sources = sources
        self._kept: dict[str, tuple[Profile, dict[str, Any]]] = {}
        self._failed: dict[str, tuple[dt.datetime, str]] = {}
        for cluster_id, row in journal.profiles().items():
            kept = _read_row(row)
            if kept is not None:
                self._kept[cluster_id] = kept

    def profile(self, cluster_id: str) -> Profile | None:
        kept = self._kept.get(cluster_id)
        return kept[0] if kept else None

    async def planners(
        self, candidates: Sequence[Candidate], now: dt.datetime
    ) -> dict[str, Planner | str]:
        """A planner (or why there is none) for each unbalanced cluster under `quietest`."""
        wanted = [(c, p) for c, p in candidates if c.unbalanced and quietest_schedule(p)]
        due = [(c, p) for c, p in wanted if self._due(c, p, now)]
        groups: dict[int, tuple[LoadSettings, list[Candidate]]] = {}
        for cluster, policy in due:
            groups.setdefault(id(policy.load), (policy.load, []))[1].append((cluster, policy))
        for load, members in groups.values():
            await self._rebuild(load, members, now)
        return {c.id: self._planner(c, p, now) for c, p in wanted}

    def _due(self, cluster: Cluster, policy: EffectivePolicy, now: dt.datetime) -> bool:
        failed = self._failed.get(cluster.id)
        if failed is not None and now - failed[0] < RETRY_AFTER:
            return False
        kept = self._kept.get(cluster.id)
        return kept is None or kept[1] != basis(policy) or now - kept[0].built >= REFRESH_EVERY

    def _planner(
        self, cluster: Cluster, policy: EffectivePolicy, now: dt.datetime
    ) -> Planner | str:
        kept = self._kept.get(cluster.id)
        if kept is not None and kept[1] == basis(policy) and now - kept[0].built < STALE_LIMIT:
            return functools.partial(quietest, kept[0])
        failed = self._failed.get(cluster.id)
        return failed[1] if failed else "not built yet"

    async def _rebuild(
        self, load: LoadSettings, members: list[Candidate], now: dt.datetime
    ) -> None:
        if self.sources is None:
            self._fail(members, now, "no Cloud Eye client")
            return
        limits = load.cloud_eye.limits
        targets = [Target(c.id, c.node_ids) for c, _ in members]
        answers = await self.sources.cloud_eye(load).history(targets, list(limits), now=now)
        for cluster, policy in members:
            answer = answers.get(cluster.id) or Unknown("cloud_eye", "no answer for the cluster")
            try:
                if isinstance(answer, Unknown):
                    raise ProfileError(str(answer))
                points = hourly_load(((s.metric, p) for s, p in answer.items()), limits)
                profile = build_profile(points, profile_zone(policy), now)
            except ProfileError as exc:
                self._fail([(cluster, policy)], now, str(exc))
                continue
            self._keep(cluster, profile, basis(policy))

    def _keep(self, cluster: Cluster, profile: Profile, of: dict[str, Any]) -> None:
        self._kept[cluster.id] = (profile, of)
        self._failed.pop(cluster.id, None)
        if self.journal.read_only:  # `status` builds what it shows, and keeps nothing
            return
        self.journal.save_profile(
            cluster.id, built=profile.built, profile={**profile.as_dict(), "basis": of}
        )
        log.info(
            "load_profile_built",
            cluster=cluster.name,
            cluster_id=cluster.id,
            history_hours=profile.history // dt.timedelta(hours=1),
            zone=profile.zone.key,
        )

    def _fail(self, members: Sequence[Candidate], now: dt.datetime, why: str) -> None:
        for cluster, _ in members:
            self._failed[cluster.id] = (now, why)
            log.warning(
                "load_profile_failed", cluster=cluster.name, cluster_id=cluster.id, error=why
            )

    def forget(self, cluster_id: str) -> None:
        self._kept.pop(cluster_id, None)
        self._failed.pop(cluster_id, None)


def _read_row(row: Mapping[str, Any]) -> tuple[Profile, dict[str, Any]] | None:
    """A journaled profile and its basis; None for a row this release cannot read (rebuilt)."""
    try:
        return Profile.from_dict(row), dict(row["basis"])
    except (KeyError, TypeError, ValueError, LookupError):
        return None
