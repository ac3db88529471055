"""One reconcile cycle: observe the project, decide per cluster, act, track, and record it all.

I/O lives at the edges (DWS client, journal, metrics, log); deciding is `controller.guards.decide`, a
switchover's POST and tracking are `controller.loop.switchovers`. `now` is always passed in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import structlog

from controller.dws.client import DwsClient
from controller.dws.errors import (
    DwsError,
)
from controller.guards.decide import decide
from controller.guards.timewindow import is_window_open
from controller.journal import Journal
from controller.loop.requests import ManualRequests, request_ttl
from controller.loop.switchovers import Switchovers
from controller.model import (
    Action,
    Cluster,
    Decision,
    History,
    Reason,
    SwitchoverRecord,
    Trigger,
)
from controller.record.metrics import Metrics
from controller.settings import EffectivePolicy, Settings

log = structlog.get_logger("controller.loop.cycle")

#: Maintenance windows change rarely: fetch a cluster's detail at most this often.
DETAIL_TTL = dt.timedelta(hours=1)
PRUNE_EVERY = dt.timedelta(days=1)
#: How far back the guards need switchover history (budget is a rolling 24 h; cooldown may be longer).
_HISTORY_FLOOR = dt.timedelta(hours=25)


@dataclass
class ClusterView:
    """What the controller last knew about one cluster: served by `/status` and `status`."""

    cluster: Cluster
    decision: Decision | None = None
    window_open: bool | None = None
    history: History | None = None
    breaker_open: bool = False


@dataclass
class CycleReport:
    decisions: list[Decision] = field(default_factory=list)
    started: list[SwitchoverRecord] = field(default_factory=list)
    finished: list[SwitchoverRecord] = field(default_factory=list)


class Reconciler:
    """Owns the controller's live state between cycles; everything durable goes to the journal."""

    def __init__(
        self,
        settings: Settings,
        client: DwsClient,
        journal: Journal,
        metrics: Metrics,
        *,
        caution_since: dt.datetime | None = None,
        on_decision: Callable[[Decision], None] | None = None,
        on_switchover: Callable[[SwitchoverRecord], None] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.journal = journal
        self.metrics = metrics
        self.caution_since = caution_since
        self.on_decision = on_decision
        self.views: dict[str, ClusterView] = {}
        self.switchovers = Switchovers(settings, client, journal, metrics, on_switchover)
        self.requests = ManualRequests(journal, self.switchovers, settings.project_id)
        self._details: dict[str, tuple[dt.datetime, Cluster]] = {}
        self._policies: dict[tuple[str, str], EffectivePolicy] = {}
        self.stopping = False  # set on shutdown: no new POST after this
        self._last_prune: dt.datetime | None = None
        # What the journal holds per cluster: skip the write transaction when nothing changed.
        self._journaled = {cid: _decision_key(d) for cid, d in journal.last_decisions().items()}

    @property
    def tracked(self) -> dict[str, SwitchoverRecord]:
        return self.switchovers.tracked

    # ---- the cycle -----------------------------------------------------------------------

    async def reconcile_once(self, now: dt.datetime) -> CycleReport:
        """Observe every cluster with one list call, track, decide, and switch over."""
        report = CycleReport()
        clusters = await self.client.list_clusters(self.settings.enterprise_project_id)
        by_id = {c.id: c for c in clusters}
        since = self._update_unbalanced_since(clusters, now)
        clusters = [await self._with_detail(c, now) for c in clusters]
        report.started += self.switchovers.detect_external(clusters, now)
        # An ambiguous list entry is no evidence of how a switchover went: read those back.
        unambiguous = {cid: c for cid, c in by_id.items() if not c.listing_ambiguous}
        report.finished += await self.switchovers.follow(now, unambiguous)
        judge = self._judge(since, now)
        self.metrics.set_paused(judge.paused)
        for cluster in sorted(clusters, key=lambda c: c.name):
            decision, history = judge(cluster)
            self._record_decision(cluster, decision, history, report)
            if decision.action is Action.SWITCHOVER and not self.stopping:
                record = await self.switchovers.trigger(cluster, Trigger.CONTROLLER, now)
                (report.started if record.in_flight else report.finished).append(record)
        await self._answer_requests(clusters, since, now, report)
        self._forget_vanished(by_id)
        self._prune(now)
        self.metrics.observe_clusters(
            clusters,
            unbalanced_since=since,
            window_open={v.cluster.id: v.window_open for v in self.views.values()},
        )
        return report

    async def preview(self, at: dt.datetime, observed: dt.datetime) -> list[ClusterView]:
        """What the controller would decide at `at`, without acting or writing: the `status` command."""
        clusters = await self.client.list_clusters(self.settings.enterprise_project_id)
        known = self.journal.unbalanced_since()
        judge = self._judge({c.id: known.get(c.id, observed) for c in clusters if c.unbalanced}, at)
        views = []
        for cluster in sorted(clusters, key=lambda c: c.name):
            cluster = await self._with_detail(cluster, observed)
            decision, history = judge(cluster)
            window_open = is_window_open(cluster, self.policy(cluster), at)
            views.append(ClusterView(cluster, decision, window_open, history))
        return views

    async def track_once(self, now: dt.datetime) -> CycleReport:
        """Between full polls: read back only the tracked clusters (one detail call each)."""
        return CycleReport(finished=await self.switchovers.follow(now))

    async def _answer_requests(
        self,
        clusters: list[Cluster],
        since: dict[str, dt.datetime],
        now: dt.datetime,
        report: CycleReport,
    ) -> None:
        """`switchover` commands recorded beside us; a fresh judge counts this cycle's POSTs."""
        for record in await self.requests.answer(
            clusters,
            self._judge(since, now),
            now,
            ttl=request_ttl(self.settings.poll_interval),
            stopping=lambda: self.stopping,
        ):
            (report.started if record.in_flight else report.finished).append(record)

    # ---- history and bookkeeping -----------------------------------------------------------

    def policy(self, cluster: Cluster) -> EffectivePolicy:
        """The cluster's effective policy (overrides applied), resolved once per cluster."""
        key = (cluster.id, cluster.name)
        if key not in self._policies:  # settings are frozen: resolve overrides once per cluster
            self._policies[key] = self.settings.policy_for(cluster.id, cluster.name)
        return self._policies[key]

    def _update_unbalanced_since(
        self, clusters: list[Cluster], now: dt.datetime
    ) -> dict[str, dt.datetime]:
        """First-seen-unbalanced times, continuous: cleared as soon as a cluster is seen balanced."""
        known = self.journal.unbalanced_since()
        live = {c.id for c in clusters}
        for cluster in clusters:
            if cluster.unbalanced and cluster.id not in known:
                self.journal.set_unbalanced_since(cluster.id, now)
                known[cluster.id] = now
            elif not cluster.unbalanced and cluster.id in known:
                self.journal.set_unbalanced_since(cluster.id, None)
                del known[cluster.id]
        for gone in set(known) - live:
            self.journal.set_unbalanced_since(gone, None)
            del known[gone]
        return known

    async def _with_detail(self, cluster: Cluster, now: dt.datetime) -> Cluster:
        """Attach the maintenance window (detail only) when a guard will need it; cached for an hour."""
        policy = self.policy(cluster)
        if not (cluster.unbalanced and not policy.windows and policy.use_maintenance_window):
            return cluster
        cached = self._details.get(cluster.id)
        if cached is None or now - cached[0] >= DETAIL_TTL:
            try:
                detail = await self.client.get_cluster(cluster.id)
            except DwsError as exc:  # the window guard fails closed on an unknown window
                log.warning("cluster_detail_failed", cluster=cluster.name, error=str(exc))
                return cluster
            cached = (now, detail)
            self._details[cluster.id] = cached
        return replace(cluster, maintain_window=cached[1].maintain_window)

    def _recent_switchovers(self, now: dt.datetime) -> dict[str, list[SwitchoverRecord]]:
        longest_cooldown = max(
            [self.settings.policy.cooldown]
            + [self.policy(v.cluster).cooldown for v in self.views.values()]
        )
        since = now - max(_HISTORY_FLOOR, longest_cooldown + self.settings.switchover_timeout)
        grouped: dict[str, list[SwitchoverRecord]] = defaultdict(list)
        for record in self.journal.switchovers(since=since):
            grouped[record.cluster_id].append(record)
        for record in self.tracked.values():  # in flight, maybe started before `since`
            if record not in grouped[record.cluster_id]:
                grouped[record.cluster_id].append(record)
        return grouped

    def _judge(self, since: dict[str, dt.datetime], at: dt.datetime) -> _Judge:
        """Everything fleet-wide the guards need at `at`, read once per cycle."""
        pause = self.journal.pause_state()
        return _Judge(
            self,
            since,
            self._recent_switchovers(at),
            self.settings.paused or pause.paused,
            pause.reason,
            at,
        )

    def _history(
        self,
        cluster: Cluster,
        since: dict[str, dt.datetime],
        recent: dict[str, list[SwitchoverRecord]],
        paused: bool,
        pause_reason: str | None,
    ) -> History:
        if not cluster.unbalanced:  # decide() stops at not_unbalanced: skip the journal queries
            return History(paused=paused)
        return History(
            switchovers=tuple(recent.get(cluster.id, ())),
            unbalanced_since=since.get(cluster.id),
            consecutive_failures=self.journal.consecutive_failures(cluster.id),
            forbidden=self.switchovers.forbidden.get(cluster.id),
            caution_since=self.caution_since,
            paused=paused,
            pause_reason=pause_reason,
            in_flight_elsewhere=sum(1 for cid in self.tracked if cid != cluster.id),
        )

    def _record_decision(
        self, cluster: Cluster, decision: Decision, history: History, report: CycleReport
    ) -> None:
        policy = self.policy(cluster)
        view = self.views.setdefault(cluster.id, ClusterView(cluster))
        view.cluster = cluster
        view.window_open = is_window_open(cluster, policy, decision.at)
        view.history = history
        view.breaker_open = history.consecutive_failures >= policy.failure_limit
        key = _decision_key(decision)
        changed = self._journaled.get(cluster.id) != key and self.journal.record_decision(decision)
        self._journaled[cluster.id] = key
        view.decision = decision
        self.metrics.observe_decision(decision)
        self.metrics.set_breaker(cluster.name, view.breaker_open)
        report.decisions.append(decision)
        (log.info if changed else log.debug)(
            "decision",
            cluster=cluster.name,
            cluster_id=cluster.id,
            action=decision.action.value,
            reason=decision.reason.value,
            detail=decision.detail,
            next_eligible=decision.next_eligible.isoformat() if decision.next_eligible else None,
        )
        if self.on_decision is not None:
            self.on_decision(decision)

    def _prune(self, now: dt.datetime) -> None:
        """Bounded journal: drop old decision rows about once a day."""
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        removed = self.journal.prune(now=now, retention=self.settings.decision_retention)
        self._last_prune = now
        if removed:
            log.info("journal_pruned", rows=removed)

    def _forget_vanished(self, by_id: dict[str, Cluster]) -> None:
        for gone in set(self.views) - set(by_id):
            log.info("cluster_gone", cluster=self.views[gone].cluster.name, cluster_id=gone)
            del self.views[gone]
            self._details.pop(gone, None)


@dataclass
class _Judge:
    """Decides one cluster at a time against one cycle's snapshot of the fleet and the journal."""

    reconciler: Reconciler
    since: dict[str, dt.datetime]
    recent: dict[str, list[SwitchoverRecord]]
    paused: bool
    pause_reason: str | None
    at: dt.datetime

    def __call__(
        self, cluster: Cluster, *, ignore_window: bool = False
    ) -> tuple[Decision, History]:
        rec = self.reconciler
        history = rec._history(cluster, self.since, self.recent, self.paused, self.pause_reason)
        policy = rec.policy(cluster)
        dry_run = rec.settings.dry_run
        decision = decide(
            cluster, history, policy, self.at, dry_run=dry_run, ignore_window=ignore_window
        )
        return decision, history


def _decision_key(decision: Decision) -> tuple[str, Action, Reason]:
    return decision.cluster_name, decision.action, decision.reason
