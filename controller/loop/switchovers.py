"""A switchover's life: the POST (journaled first, never repeated), read-back, tracking, outcome.

Also spots switchovers someone else started. Every start and end is an event for the recorder,
which writes it to the journal, the metrics and the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import structlog

from controller.dws.errors import BadRequestError, DwsError, NotFoundError, PermissionDeniedError
from controller.loop import tracker
from controller.loop.deps import LoopDeps
from controller.loop.probes import Probes
from controller.model import Cluster, Outcome, SwitchoverRecord, Trigger
from controller.record import events
from controller.settings import EffectivePolicy

log = structlog.get_logger("controller.loop.switchovers")

#: How long DWS may take to show the task of an accepted POST before silence means "not started".
CONFIRM_GRACE_MIN = dt.timedelta(seconds=30)


class Switchovers:
    """Switchovers in flight, keyed by cluster id, and the clusters DWS forbade us to touch."""

    def __init__(
        self, deps: LoopDeps, policy: Callable[[Cluster], EffectivePolicy] | None = None
    ) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.policy = policy or (lambda c: deps.settings.policy_for(c.id, c.name))
        self.probes = Probes(deps)
        #: The load the gate read this cycle, by cluster id: kept with a switchover it triggers.
        self.load_seen: dict[str, Mapping[str, float]] = {}
        #: The approval or announcement letting each cluster run this cycle (journal row id),
        #: used up by the switchover the controller triggers (`loop.approvals`).
        self.approval_seen: dict[str, int] = {}
        self.client = deps.client
        self.journal = deps.journal
        self.recorder = deps.recorder
        self.forbidden: dict[str, str] = {}  # cluster id → 403 message, until restart
        self.tracked = {r.cluster_id: r for r in deps.journal.in_flight()}
        self._abandoned: set[str] = set()  # timed out but still switching: not a new external one
        for record in self.tracked.values():
            self.recorder.record(events.SwitchoverStarted(record, events.Origin.RESUMED))

    # ---- triggering -------------------------------------------------------------------------

    async def trigger(
        self,
        cluster: Cluster,
        trigger: Trigger,
        now: dt.datetime,
        *,
        request_id: int | None = None,
    ) -> SwitchoverRecord:
        """POST once. The result is in flight (accepted or unconfirmed) or finished as `rejected`.

        `request_id`: the switchover request this carries out, marked done with the row.
        """
        # Durable before the POST: a crash after sending must find this row and not send again.
        # The recorder raises when the journal cannot write it, and then nothing is sent.
        starting = SwitchoverRecord(
            cluster.id,
            cluster.name,
            trigger,
            started=now,
            confirmed=False,
            load_at_trigger=self.load_seen.get(cluster.id),
        )
        approval_id = self._approval_used(cluster, trigger)
        record = self.recorder.record(
            events.SwitchoverStarting(starting, request_id=request_id, approval_id=approval_id)
        ).record
        fleet = self.deps.in_flight
        if fleet is not None:  # counted by the other targets until it is tracked (or refused)
            fleet.reserve(cluster.id)
        try:
            return await self._post(record, cluster, now)
        finally:
            if fleet is not None:
                fleet.release(cluster.id)

    async def _post(
        self, record: SwitchoverRecord, cluster: Cluster, now: dt.datetime
    ) -> SwitchoverRecord:
        """The one POST of a journaled switchover, and what is known of it afterwards."""
        try:
            ack = await self.client.switchover(cluster.id)
        except DwsError as exc:
            return self._refused(record, exc, now)
        if ack.accepted:
            record = self._confirm(record, now)
        else:
            log.warning("switchover_outcome_unknown", cluster=cluster.name, detail=ack.detail)
            record = await self._read_back(record, now)
        self._follow(record, events.Origin.POSTED)
        if record.in_flight:  # accepted (or seen running): measure what clients feel
            self.probes.start(record, cluster, self.policy(cluster))
        return record

    def _approval_used(self, cluster: Cluster, trigger: Trigger) -> int | None:
        """The approval or announcement this switchover uses up; none when a person asked for it."""
        approval_id = self.approval_seen.pop(cluster.id, None)
        return approval_id if trigger is Trigger.CONTROLLER else None

    async def _read_back(self, record: SwitchoverRecord, now: dt.datetime) -> SwitchoverRecord:
        """After an ambiguous POST: DWS showing the task means accepted. Never POST again."""
        try:
            cluster = await self.client.get_cluster(record.cluster_id)
        except DwsError as exc:
            log.warning("switchover_read_back_failed", cluster=record.cluster_name, error=str(exc))
            return record  # stays unconfirmed; tracking decides within the grace period
        if cluster.switching:
            return self._confirm(record, now, read_back=True)
        return record

    def _refused(
        self, record: SwitchoverRecord, exc: DwsError, now: dt.datetime
    ) -> SwitchoverRecord:
        """A definite refusal: nothing runs on DWS. Recorded as `rejected` (no cooldown, no budget)."""
        if isinstance(exc, PermissionDeniedError):
            self.forbidden[record.cluster_id] = str(exc)
            why = "switchover_forbidden"
        elif isinstance(exc, BadRequestError) and exc.state_conflict:
            why = "switchover_rejected"
        else:
            why = "switchover_not_sent"
        ended = replace(record, ended=now, outcome=Outcome.REJECTED, error=str(exc))
        refusal = events.Refusal(why, str(exc), type(exc).__name__)
        return self.recorder.record(events.SwitchoverFinished(ended, refusal)).record

    # ---- following ------------------------------------------------------------------------

    def detect_external(
        self, switching: Iterable[Cluster], now: dt.datetime
    ) -> list[SwitchoverRecord]:
        """Start tracking switchovers we see running (`switching`: every listed cluster whose
        task is a switchover) but did not start in this process."""
        switching = list(switching)
        self._abandoned &= {c.id for c in switching}  # its switchover ended: a next one is new
        started = []
        for cluster in switching:
            if cluster.id in self.tracked or cluster.id in self._abandoned:
                continue
            # Another process of ours (a manual `switchover` command) may have journaled it.
            ours = {r.cluster_id: r for r in self.journal.in_flight()}
            if cluster.id in ours:
                record, origin = ours[cluster.id], events.Origin.ADOPTED
            else:
                seen = SwitchoverRecord(cluster.id, cluster.name, Trigger.EXTERNAL, started=now)
                record = self.recorder.record(
                    events.SwitchoverStarting(seen, events.Origin.EXTERNAL)
                ).record
                origin = events.Origin.EXTERNAL
            self._follow(record, origin)
            started.append(record)
        return started

    async def follow(
        self, now: dt.datetime, listed: Mapping[str, Cluster] | None = None
    ) -> list[SwitchoverRecord]:
        """Judge every tracked switchover; returns those that ended.

        `listed` is the cycle's list answer; a tracked cluster missing from it (or every tracked
        cluster, between polls) is read back with one detail call.
        """
        ended = []
        for record in list(self.tracked.values()):
            try:
                seen = (listed or {}).get(record.cluster_id) or await self._read(record)
            except DwsError as exc:  # judged again next time
                log.warning("tracking_read_failed", cluster=record.cluster_name, error=str(exc))
                continue
            if (finished := self._judge(record, seen, now)) is not None:
                ended.append(finished)
        return ended

    async def _read(self, record: SwitchoverRecord) -> Cluster | None:
        """None only when DWS says the cluster is gone (a list entry can be missing because it
        was unreadable, which must not end the tracking)."""
        try:
            return await self.client.get_cluster(record.cluster_id)
        except NotFoundError:
            return None

    def _judge(
        self, record: SwitchoverRecord, cluster: Cluster | None, now: dt.datetime
    ) -> SwitchoverRecord | None:
        grace = max(CONFIRM_GRACE_MIN, 3 * self.settings.tracking_interval)
        step = tracker.assess(
            record, cluster, now, timeout=self.settings.switchover_timeout, confirm_grace=grace
        )
        if isinstance(step, tracker.Running):
            if step.confirm:
                self.tracked[record.cluster_id] = self._confirm(record, now)
            return None
        del self.tracked[record.cluster_id]
        if step.outcome is Outcome.TIMED_OUT:
            self._abandoned.add(record.cluster_id)
        ended = replace(
            record,
            ended=step.ended,
            outcome=step.outcome,
            interruption_seconds=step.interruption_seconds,
            error=step.error,
        )
        finished = self.recorder.record(events.SwitchoverFinished(ended)).record
        self.probes.ended(finished)
        return finished

    # ---- bookkeeping ----------------------------------------------------------------------

    def _confirm(
        self, record: SwitchoverRecord, now: dt.datetime, *, read_back: bool = False
    ) -> SwitchoverRecord:
        self.recorder.record(events.SwitchoverConfirmed(record, now, read_back=read_back))
        return replace(record, confirmed=True)

    def _follow(self, record: SwitchoverRecord, origin: events.Origin) -> None:
        self.tracked[record.cluster_id] = record
        self.recorder.record(events.SwitchoverStarted(record, origin))
