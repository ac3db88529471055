"""One reconcile cycle: observe the project, decide per cluster, act, track, and record it all.

The stages: observe (`loop.observe`), judge (`controller.guards.decide`), act and track
(`loop.switchovers`), record (events for `record.recorder`, which writes journal, metrics and log).
At the end of each cycle it publishes an immutable `Snapshot` for `/status`. `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import structlog

from controller.guards import GuardSpec, decide
from controller.guards.load import gated, load_spec
from controller.guards.registry import GUARDS, with_spec
from controller.guards.slot import quietest_schedule, slot_spec
from controller.guards.timewindow import WindowFacts
from controller.load.assess import LoadVerdict
from controller.loop.approvals import ApprovalBook, ApprovalStage
from controller.loop.deps import LoopDeps
from controller.loop.loadgate import LoadGate
from controller.loop.observe import Observation, Observer
from controller.loop.requests import ManualRequests, request_ttl
from controller.loop.slots import QuietSlots
from controller.loop.snapshot import ClusterView, Snapshot
from controller.loop.stuck import StuckWatch
from controller.loop.switchovers import Switchovers
from controller.model import (
    Action,
    Caution,
    Cluster,
    Decision,
    History,
    Reason,
    SwitchoverRecord,
    Trigger,
    Verdict,
)
from controller.record.events import (
    BreakerOpened,
    ClusterGone,
    ClustersObserved,
    DecisionMade,
    LoadAssessed,
    LoadReading,
)
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

    def __init__(self, deps: LoopDeps, *, caution: Caution | None = None) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.client = deps.client
        self.journal = deps.journal
        self.recorder = deps.recorder
        self.caution = caution
        self.snapshot = Snapshot()  # replaced whole at the end of every cycle
        self._views: dict[str, ClusterView] = {}
        self.switchovers = Switchovers(deps, self.policy)
        self.requests = ManualRequests(deps.journal, self.switchovers, deps.settings.project_id)
        self.observer = Observer(deps, self.policy)
        self.load_gate = LoadGate(deps.load)
        self.approvals = ApprovalStage(deps, self.policy, self.switchovers)
        self.stuck = StuckWatch(deps.recorder, deps.settings.notify.stuck_after)
        self.quiet_slots = QuietSlots(deps.journal, deps.load)
        self._policies: dict[tuple[str, str], EffectivePolicy] = {}
        self._all_policies = deps.settings.policies()
        self._longest_cooldown = max(p.cooldown for p in self._all_policies)
        self._window_by_policy: dict[int, bool | None] = {}  # last cycle's, by id(policy)
        #: The last answer walked, the tracked ids then, and the decisions it kept.
        self._kept: tuple[list[Cluster], frozenset[str], list[Decision]] = ([], frozenset(), [])
        self._dirty: set[str] = set()  # cluster ids whose view changed since the last snapshot
        self._shown: dict[str, ClusterView] = {}  # what the last snapshot showed, by cluster id
        self._order: list[str] = []  # the snapshot's cluster ids, sorted by name
        self._showing_tracking: set[str] = set()  # ids the last snapshot showed tracked/forbidden
        self.stopping = False  # set on shutdown: no new POST after this
        self._last_prune: dt.datetime | None = None
        # What the journal holds per cluster: skip the write transaction when nothing changed.
        self._journaled = {
            cid: _decision_key(d) for cid, d in deps.journal.last_decisions().items()
        }

    @property
    def tracked(self) -> dict[str, SwitchoverRecord]:
        return self.switchovers.tracked

    def in_flight_fleet(self, cluster_id: str) -> int:
        """Switchovers in flight on other clusters of every target (this one's without a fleet)."""
        if self.deps.in_flight is None:
            return sum(1 for cid in self.tracked if cid != cluster_id)
        return self.deps.in_flight.elsewhere(cluster_id)

    # ---- the cycle -----------------------------------------------------------------------

    async def reconcile_once(self, now: dt.datetime) -> CycleReport:
        """Observe every cluster with one list call, track, judge, act, and record."""
        report = CycleReport()
        seen = await self.observer.observe(now)
        report.started += self.switchovers.detect_external(seen.listing.switching, now)
        report.finished += await self.switchovers.follow(now, seen.unambiguous)
        fresh, refreshed = self._keep_unchanged(seen, now, report)
        judge = self._judge(seen.since, now)
        ordered = sorted(fresh, key=lambda c: c.name)
        judge.registry = await self._with_gates(judge, ordered, now)
        for cluster in ordered:
            verdict, history = self.approvals.judged(judge, cluster)
            self._record_decision(cluster, verdict, history, report)
            if verdict.decision.action is Action.SWITCHOVER and not self.stopping:
                report.add(await self.switchovers.trigger(cluster, Trigger.CONTROLLER, now))
        await self._answer_requests(seen.clusters, seen.since, now, report)
        self._forget_vanished(seen.by_id)
        self._prune(now)
        self._observed([*fresh, *refreshed], seen, judge.paused)
        await self.switchovers.probes.stop_due(now)
        self._publish(now)
        return report

    def _keep_unchanged(
        self, seen: Observation, now: dt.datetime, report: CycleReport
    ) -> tuple[list[Cluster], list[Cluster]]:
        """Split off the clusters whose decision cannot have changed; returns (to judge, refreshed).

        A balanced, untracked cluster whose list entry is the very one of the last cycle keeps
        its decision: nothing it depends on changed. Only its window fact moves with time, and
        only when its policy's window opened or closed (it is then `refreshed`). An unbalanced
        cluster is always judged again: time-based guards (debounce, window, blackout, cooldown,
        budget) change their answer while the entry stays the same.
        """
        windows = WindowFacts(now)
        by_policy = {id(p): windows.of_policy(p) for p in self._all_policies}
        flipped, self._window_by_policy = by_policy != self._window_by_policy, by_policy
        same = (seen.listing.clusters, frozenset(self.tracked))
        if not flipped and self._kept[0] is same[0] and self._kept[1] == same[1]:
            # The very answer of the last cycle: the same clusters are kept, nothing to walk.
            report.decisions += self._kept[2]
            return self._judged_again(seen), []
        fresh, refreshed, kept, new_or_changed = self._walk(seen.clusters, windows, flipped)
        # The shortcut needs the complete set of kept decisions: not yet, if some were new.
        self._kept = ([], frozenset(), []) if new_or_changed else (*same, kept)
        report.decisions += kept
        return fresh, refreshed

    def _walk(
        self, clusters: list[Cluster], windows: WindowFacts, flipped: bool
    ) -> tuple[list[Cluster], list[Cluster], list[Decision], bool]:
        """(to judge, refreshed, kept decisions, whether an entry was new or changed)."""
        fresh: list[Cluster] = []
        refreshed: list[Cluster] = []
        kept: list[Decision] = []
        new_or_changed = False
        for cluster in clusters:
            view = self._views.get(cluster.id)
            if view is None or view.cluster is not cluster or self._must_judge(cluster):
                new_or_changed |= not self._must_judge(cluster)
                fresh.append(cluster)
                continue
            assert view.decision is not None  # every view of a listed cluster holds one
            kept.append(view.decision)
            if not (flipped or cluster.maintain_window is not None):
                continue
            window_open = windows(cluster, self.policy(cluster))
            if window_open != view.window_open:
                self._set_view(replace(view, window_open=window_open))
                refreshed.append(cluster)
        return fresh, refreshed, kept, new_or_changed

    def _judged_again(self, seen: Observation) -> list[Cluster]:
        """Of an answer seen before, the clusters judged every cycle (as `_must_judge` says)."""
        listing, wanted = seen.listing, {c.id for c in seen.listing.unbalanced}
        wanted |= {c.id for c in listing.ambiguous} | (self.tracked.keys() & listing.by_id.keys())
        return [seen.current(cid) for cid in wanted]

    def _must_judge(self, cluster: Cluster) -> bool:
        return cluster.unbalanced or cluster.listing_ambiguous or cluster.id in self.tracked

    async def preview(
        self, at: dt.datetime, observed: dt.datetime, *, ignore_window: bool = False
    ) -> list[ClusterView]:
        """What the controller would decide at `at`, without acting or writing: `status`, `switchover`."""
        clusters = await self.client.list_clusters(self.settings.enterprise_project_id)
        known = self.journal.unbalanced_since()
        judge = self._judge({c.id: known.get(c.id, observed) for c in clusters if c.unbalanced}, at)
        detailed = [
            await self.observer.with_detail(c, observed)
            for c in sorted(clusters, key=lambda c: c.name)
        ]
        judge.registry = await self._with_gates(judge, detailed, at, ignore_window=ignore_window)
        views = []
        for cluster in detailed:
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
        await self.switchovers.probes.stop_due(now)
        self._publish(now)
        return report

    async def shutdown(self, now: dt.datetime) -> None:
        """The loop stopped: stop the probes still running and record what they measured."""
        await self.switchovers.probes.stop_due(now, everything=True)

    async def _answer_requests(
        self,
        clusters: list[Cluster],
        since: dict[str, dt.datetime],
        now: dt.datetime,
        report: CycleReport,
        only: int | None = None,
    ) -> None:
        """`switchover` commands recorded beside us; a fresh judge counts this cycle's POSTs."""
        judge = self._judge(since, now)
        judge.approvals = judge.approvals and judge.approvals.by_hand()  # a person asked for it
        wanted = self.requests.wanted(clusters, only)
        judge.registry = await self._with_gates(judge, wanted, now, ignore_window=True)
        for record in await self.requests.answer(
            clusters,
            judge,
            now,
            ttl=request_ttl(self.settings.poll_interval),
            stopping=lambda: self.stopping,
            only=only,
        ):
            report.add(record)

    async def _with_gates(
        self,
        judge: _Judge,
        clusters: list[Cluster],
        now: dt.datetime,
        *,
        ignore_window: bool = False,
    ) -> Sequence[GuardSpec]:
        """The registry with this cycle's data-driven guards: the quietest slot, then the load."""
        judge.registry = await self._with_slots(clusters, now, ignore_window=ignore_window)
        return await self._with_load(judge, clusters, now, ignore_window=ignore_window)

    async def _with_slots(
        self, clusters: list[Cluster], now: dt.datetime, *, ignore_window: bool = False
    ) -> Sequence[GuardSpec]:
        """The registry with the slot guard after the blackout guard, over the profiles of the
        unbalanced clusters under `schedule: quietest` (a manual switchover skips it)."""
        if ignore_window or not any(quietest_schedule(p) for p in self._all_policies):
            return GUARDS
        planners = await self.quiet_slots.planners([(c, self.policy(c)) for c in clusters], now)
        return with_spec(GUARDS, slot_spec(planners), after="blackout")

    async def _with_load(
        self,
        judge: _Judge,
        clusters: list[Cluster],
        now: dt.datetime,
        *,
        ignore_window: bool = False,
    ) -> Sequence[GuardSpec]:
        """The registry with the load guard, over the verdicts of the clusters every other guard
        allows (asked in shared calls); the plain registry when no policy has a load gate."""
        if not any(gated(p) for p in self._all_policies):
            return judge.registry
        allowed = (Action.SWITCHOVER, Action.DRY_RUN)
        gated_clusters = [(c, p) for c in clusters if gated(p := self.policy(c))]
        candidates = [
            (c, p)
            for c, p in gated_clusters
            if judge(c, ignore_window=ignore_window)[0].decision.action in allowed
        ]
        verdicts = await self.load_gate.verdicts(candidates, now) if candidates else {}
        asked = {c.id for c, _ in candidates}
        held = frozenset(c.id for c, _ in gated_clusters if c.id not in asked)
        self.switchovers.load_seen = {
            cid: dict(v.values) for cid, v in verdicts.items() if v.values
        }
        if verdicts:
            self.recorder.record(LoadAssessed(_load_readings(candidates, verdicts)))
        return (*judge.registry, load_spec(verdicts, held))

    def _observed(self, refreshed: list[Cluster], seen: Observation, paused: bool) -> None:
        """The gauges' facts for the clusters judged or refreshed this cycle (the others kept theirs)."""
        window_open = {c.id: self._views[c.id].window_open for c in refreshed}
        self.recorder.record(ClustersObserved(refreshed, seen.since, window_open, paused))

    def _publish(self, now: dt.datetime) -> None:
        """One immutable snapshot of the fleet, with what the switchovers know right now.

        Only views that changed are rebuilt, and the order only when a name came, went or moved.
        """
        tracking = self.tracked.keys() | self.switchovers.forbidden.keys()
        reorder = False
        for cid in self._dirty | tracking | self._showing_tracking:
            before, view = self._shown.pop(cid, None), self._views.get(cid)
            if view is not None:
                self._shown[cid] = self._published(view)
            reorder |= before is None or view is None or before.cluster.name != view.cluster.name
        self._dirty.clear()
        self._showing_tracking = set(tracking)
        if reorder:
            self._order = sorted(self._shown, key=lambda cid: self._shown[cid].cluster.name)
        self.snapshot = Snapshot(now, tuple(self._shown[cid] for cid in self._order))

    def _published(self, view: ClusterView) -> ClusterView:
        cid = view.cluster.id
        return replace(
            view,
            failure_limit=self.policy(view.cluster).failure_limit,
            tracked=self.tracked.get(cid),
            forbidden=self.switchovers.forbidden.get(cid),
        )

    def _set_view(self, view: ClusterView) -> None:
        self._views[view.cluster.id] = view
        self._dirty.add(view.cluster.id)

    # ---- history and bookkeeping -----------------------------------------------------------

    def policy(self, cluster: Cluster) -> EffectivePolicy:
        """The cluster's effective policy (overrides applied), resolved once per cluster."""
        key = (cluster.id, cluster.name)
        if key not in self._policies:  # settings are frozen: resolve overrides once per cluster
            self._policies[key] = self.settings.policy_for(cluster.id, cluster.name)
        return self._policies[key]

    def _recent_switchovers(self, now: dt.datetime) -> dict[str, list[SwitchoverRecord]]:
        reach = self._longest_cooldown + self.settings.switchover_timeout
        since = now - max(_HISTORY_FLOOR, reach)
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
            approvals=self.approvals.book(at),
        )

    def _record_decision(
        self, cluster: Cluster, verdict: Verdict, history: History, report: CycleReport
    ) -> None:
        decision = verdict.decision
        before = self._views.get(cluster.id)
        if verdict.breaker_open and before is not None and not before.breaker_open:
            failures = history.consecutive_failures
            self.recorder.record(BreakerOpened(cluster.id, cluster.name, failures))
        self._set_view(
            ClusterView(cluster, decision, verdict.window_open, history, verdict.breaker_open)
        )
        key = _decision_key(decision)
        changed = self._journaled.get(cluster.id) != key
        self.recorder.record(DecisionMade(verdict, changed))
        self.stuck.observe(cluster, verdict, history, decision.at)
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
            self._dirty.add(gone)
            self.recorder.record(ClusterGone(gone, view.cluster.name))
            self.observer.forget(gone)
            self.approvals.forget(gone)
            self.stuck.forget(gone)
            self.quiet_slots.forget(gone)


@dataclass
class _Judge:
    """Decides one cluster at a time against one cycle's snapshot of the fleet and the journal."""

    reconciler: Reconciler
    since: dict[str, dt.datetime]
    recent: dict[str, list[SwitchoverRecord]]
    paused: bool
    pause_reason: str | None
    at: dt.datetime
    registry: Sequence[GuardSpec] = GUARDS  # with the load guard once this cycle's load is read
    approvals: ApprovalBook | None = None  # what people said, read once per cycle

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
            caution_since=rec.caution.since if rec.caution else None,
            caution_for=rec.caution.at_least if rec.caution else dt.timedelta(0),
            caution_why=rec.caution.why if rec.caution else "",
            paused=self.paused,
            pause_reason=self.pause_reason,
            in_flight_elsewhere=sum(1 for cid in rec.tracked if cid != cluster.id),
            in_flight_fleet=rec.in_flight_fleet(cluster.id),
            approval=None if self.approvals is None else self.approvals.of(cluster.id),
        )

    def __call__(self, cluster: Cluster, *, ignore_window: bool = False) -> tuple[Verdict, History]:
        """The verdict (decision, every guard's answer, window and breaker facts) and its history."""
        rec = self.reconciler
        history = self.history(cluster)
        policy = rec.policy(cluster)
        dry_run = rec.settings.dry_run
        verdict = decide.judge(
            cluster,
            history,
            policy,
            self.at,
            dry_run=dry_run,
            ignore_window=ignore_window,
            registry=self.registry,
        )
        return verdict, history


def _decision_key(decision: Decision) -> tuple[str, Action, Reason]:
    return decision.cluster_name, decision.action, decision.reason


def _load_readings(
    candidates: Sequence[tuple[Cluster, EffectivePolicy]], verdicts: Mapping[str, LoadVerdict]
) -> tuple[LoadReading, ...]:
    """What the metrics and the journal keep of the verdicts: plain values per cluster."""
    return tuple(
        LoadReading(c.id, c.name, dict(v.values), v.source, v.code)
        for c, _ in candidates
        if (v := verdicts.get(c.id)) is not None
    )
