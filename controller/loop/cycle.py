"""One reconcile cycle: observe the project, decide per cluster, act, track, and record it all.

The stages: observe (`loop.observe`), judge (`controller.guards.decide`), act and track
(`loop.switchovers`), record (events for `record.recorder`, which writes journal, metrics and log).
At the end of each cycle it publishes an immutable `Snapshot` for `/status`. `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace

import structlog

from controller.guards import decide
from controller.loop.deps import LoopDeps
from controller.loop.observe import Observation, Observer
from controller.loop.requests import ManualRequests, request_ttl
from controller.loop.snapshot import ClusterView, Snapshot
from controller.loop.switchovers import Switchovers
from controller.model import (
    Action,
    Cluster,
    Decision,
    History,
    Reason,
    SwitchoverRecord,
    Trigger,
    Verdict,
)
from controller.record.events import BreakerOpened, ClusterGone, ClustersObserved, DecisionMade
from controller.settings import EffectivePolicy

log = structlog.get_logger("controller.loop.cycle")

__all__ = ["ClusterView", "CycleReport", "Reconciler", "Snapshot"]

PRUNE_EVERY = dt.timedelta(days=1)
#: How far back the guards need switchover history (budget is a rolling 24 h; cooldown may be longer).
_HISTORY_FLOOR = dt.timedelta(hours=25)


@dataclass
class CycleReport:
    decisions: list[Decision] = field(default_factory=list)
    started: list[SwitchoverRecord] = field(default_factory=list)
    finished: list[SwitchoverRecord] = field(default_factory=list)

    def add(self, record: SwitchoverRecord) -> None:
        """A switchover this cycle triggered: in flight, or already finished (rejected)."""
        (self.started if record.in_flight else self.finished).append(record)


class Reconciler:
    """Owns the controller's live state between cycles; everything durable goes to the journal."""

    def __init__(self, deps: LoopDeps, *, caution_since: dt.datetime | None = None) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.client = deps.client
        self.journal = deps.journal
        self.recorder = deps.recorder
        self.caution_since = caution_since
        self.snapshot = Snapshot()  # replaced whole at the end of every cycle
        self._views: dict[str, ClusterView] = {}
        self.switchovers = Switchovers(deps)
        self.requests = ManualRequests(deps.journal, self.switchovers, deps.settings.project_id)
        self.observer = Observer(deps, self.policy)
        self._policies: dict[tuple[str, str], EffectivePolicy] = {}
        self.stopping = False  # set on shutdown: no new POST after this
        self._last_prune: dt.datetime | None = None
        # What the journal holds per cluster: skip the write transaction when nothing changed.
        self._journaled = {
            cid: _decision_key(d) for cid, d in deps.journal.last_decisions().items()
        }

    @property
    def tracked(self) -> dict[str, SwitchoverRecord]:
        return self.switchovers.tracked

    # ---- the cycle -----------------------------------------------------------------------

    async def reconcile_once(self, now: dt.datetime) -> CycleReport:
        """Observe every cluster with one list call, track, judge, act, and record."""
        report = CycleReport()
        seen = await self.observer.observe(now)
        report.started += self.switchovers.detect_external(seen.clusters, now)
        report.finished += await self.switchovers.follow(now, seen.unambiguous)
        judge = self._judge(seen.since, now)
        for cluster in sorted(seen.clusters, key=lambda c: c.name):
            verdict, history = judge(cluster)
            self._record_decision(cluster, verdict, history, report)
            if verdict.decision.action is Action.SWITCHOVER and not self.stopping:
                report.add(await self.switchovers.trigger(cluster, Trigger.CONTROLLER, now))
        await self._answer_requests(seen.clusters, seen.since, now, report)
        self._forget_vanished(seen.by_id)
        self._prune(now)
        self._observed(seen, judge.paused)
        self._publish(now)
        return report

    async def preview(
        self, at: dt.datetime, observed: dt.datetime, *, ignore_window: bool = False
    ) -> list[ClusterView]:
        """What the controller would decide at `at`, without acting or writing: `status`, `switchover`."""
        clusters = await self.client.list_clusters(self.settings.enterprise_project_id)
        known = self.journal.unbalanced_since()
        judge = self._judge({c.id: known.get(c.id, observed) for c in clusters if c.unbalanced}, at)
        views = []
        for cluster in sorted(clusters, key=lambda c: c.name):
            cluster = await self.observer.with_detail(cluster, observed)
            verdict, history = judge(cluster, ignore_window=ignore_window)
            views.append(
                ClusterView(
                    cluster, verdict.decision, verdict.window_open, history, verdict.breaker_open
                )
            )
        return views

    async def answer_request(self, request_id: int, now: dt.datetime) -> CycleReport:
        """Only the requests stage of a cycle, for one request: `switchover CLUSTER` acting by
        itself goes through the very code that answers it beside a running controller."""
        report = CycleReport()
        seen = await self.observer.observe(now)
        await self._answer_requests(seen.clusters, seen.since, now, report, only=request_id)
        self._publish(now)
        return report

    async def track_once(self, now: dt.datetime) -> CycleReport:
        """Between full polls: read back only the tracked clusters (one detail call each)."""
        report = CycleReport(finished=await self.switchovers.follow(now))
        self._publish(now)
        return report

    async def _answer_requests(
        self,
        clusters: list[Cluster],
        since: dict[str, dt.datetime],
        now: dt.datetime,
        report: CycleReport,
        only: int | None = None,
    ) -> None:
        """`switchover` commands recorded beside us; a fresh judge counts this cycle's POSTs."""
        for record in await self.requests.answer(
            clusters,
            self._judge(since, now),
            now,
            ttl=request_ttl(self.settings.poll_interval),
            stopping=lambda: self.stopping,
            only=only,
        ):
            report.add(record)

    def _observed(self, seen: Observation, paused: bool) -> None:
        window_open = {v.cluster.id: v.window_open for v in self._views.values()}
        self.recorder.record(ClustersObserved(seen.clusters, seen.since, window_open, paused))

    def _publish(self, now: dt.datetime) -> None:
        """One immutable snapshot of the fleet, with what the switchovers know right now."""
        views = sorted(self._views.values(), key=lambda v: v.cluster.name)
        self.snapshot = Snapshot(now, tuple(self._published(v) for v in views))

    def _published(self, view: ClusterView) -> ClusterView:
        cid = view.cluster.id
        return replace(
            view,
            failure_limit=self.policy(view.cluster).failure_limit,
            tracked=self.tracked.get(cid),
            forbidden=self.switchovers.forbidden.get(cid),
        )

    # ---- history and bookkeeping -----------------------------------------------------------

    def policy(self, cluster: Cluster) -> EffectivePolicy:
        """The cluster's effective policy (overrides applied), resolved once per cluster."""
        key = (cluster.id, cluster.name)
        if key not in self._policies:  # settings are frozen: resolve overrides once per cluster
            self._policies[key] = self.settings.policy_for(cluster.id, cluster.name)
        return self._policies[key]

    def _recent_switchovers(self, now: dt.datetime) -> dict[str, list[SwitchoverRecord]]:
        longest_cooldown = max(
            [self.settings.policy.cooldown]
            + [self.policy(v.cluster).cooldown for v in self._views.values()]
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

    def _record_decision(
        self, cluster: Cluster, verdict: Verdict, history: History, report: CycleReport
    ) -> None:
        decision = verdict.decision
        before = self._views.get(cluster.id)
        if verdict.breaker_open and before is not None and not before.breaker_open:
            failures = history.consecutive_failures
            self.recorder.record(BreakerOpened(cluster.id, cluster.name, failures))
        self._views[cluster.id] = ClusterView(
            cluster, decision, verdict.window_open, history, verdict.breaker_open
        )
        key = _decision_key(decision)
        changed = self._journaled.get(cluster.id) != key
        self.recorder.record(DecisionMade(verdict, changed))
        self._journaled[cluster.id] = key
        report.decisions.append(decision)

    def _prune(self, now: dt.datetime) -> None:
        """Bounded journal: drop old decision rows about once a day."""
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        removed = self.journal.prune(now=now, retention=self.settings.decision_retention)
        self._last_prune = now
        if removed:
            log.info("journal_pruned", rows=removed)

    def _forget_vanished(self, by_id: dict[str, Cluster]) -> None:
        for gone in set(self._views) - set(by_id):
            view = self._views.pop(gone)
            self.recorder.record(ClusterGone(gone, view.cluster.name))
            self.observer.forget(gone)


@dataclass
class _Judge:
    """Decides one cluster at a time against one cycle's snapshot of the fleet and the journal."""

    reconciler: Reconciler
    since: dict[str, dt.datetime]
    recent: dict[str, list[SwitchoverRecord]]
    paused: bool
    pause_reason: str | None
    at: dt.datetime

    def history(self, cluster: Cluster) -> History:
        """What the guards need to know of one cluster's past, from this cycle's reads."""
        if not cluster.unbalanced:  # judged idle, or blocked by its listing: no past is needed
            return History(paused=self.paused)
        rec = self.reconciler
        return History(
            switchovers=tuple(self.recent.get(cluster.id, ())),
            unbalanced_since=self.since.get(cluster.id),
            consecutive_failures=rec.journal.consecutive_failures(cluster.id),
            forbidden=rec.switchovers.forbidden.get(cluster.id),
            caution_since=rec.caution_since,
            paused=self.paused,
            pause_reason=self.pause_reason,
            in_flight_elsewhere=sum(1 for cid in rec.tracked if cid != cluster.id),
        )

    def __call__(self, cluster: Cluster, *, ignore_window: bool = False) -> tuple[Verdict, History]:
        """The verdict (decision, every guard's answer, window and breaker facts) and its history."""
        rec = self.reconciler
        history = self.history(cluster)
        policy = rec.policy(cluster)
        dry_run = rec.settings.dry_run
        verdict = decide.judge(
            cluster, history, policy, self.at, dry_run=dry_run, ignore_window=ignore_window
        )
        return verdict, history


def _decision_key(decision: Decision) -> tuple[str, Action, Reason]:
    return decision.cluster_name, decision.action, decision.reason
