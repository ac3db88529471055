"""A switchover's life: the POST (journaled first, never repeated), read-back, tracking, outcome.

Also spots switchovers someone else started. Every start and end goes to the journal, the metrics,
the log and the `on_event` callback from here, in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import structlog

from controller.dws.client import DwsClient
from controller.dws.errors import BadRequestError, DwsError, NotFoundError, PermissionDeniedError
from controller.journal import Journal
from controller.loop import tracker
from controller.model import Cluster, Outcome, SwitchoverRecord, Trigger
from controller.record.metrics import Metrics
from controller.settings import Settings

log = structlog.get_logger("controller.loop.switchovers")

#: How long DWS may take to show the task of an accepted POST before silence means "not started".
CONFIRM_GRACE_MIN = dt.timedelta(seconds=30)


class Switchovers:
    """Switchovers in flight, keyed by cluster id, and the clusters DWS forbade us to touch."""

    def __init__(
        self,
        settings: Settings,
        client: DwsClient,
        journal: Journal,
        metrics: Metrics,
        on_event: Callable[[SwitchoverRecord], None] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.journal = journal
        self.metrics = metrics
        self.on_event = on_event  # called when a switchover starts and when it ends
        self.forbidden: dict[str, str] = {}  # cluster id → 403 message, until restart
        self.tracked: dict[str, SwitchoverRecord] = {r.cluster_id: r for r in journal.in_flight()}
        self._abandoned: set[str] = set()  # timed out but still switching: not a new external one
        for record in self.tracked.values():
            metrics.switchover_started(record)
            log.info(
                "switchover_resumed",
                cluster=record.cluster_name,
                cluster_id=record.cluster_id,
                trigger=record.trigger.value,
                started=record.started.isoformat(),
            )

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
        record = self.journal.begin_switchover(
            SwitchoverRecord(cluster.id, cluster.name, trigger, started=now, confirmed=False),
            request_id=request_id,
        )
        log.info(
            "switchover_requested",
            cluster=cluster.name,
            cluster_id=cluster.id,
            trigger=trigger.value,
        )
        try:
            ack = await self.client.switchover(cluster.id)
        except DwsError as exc:
            return self._refused(record, exc, now)
        if ack.accepted:
            record = self._confirm(record, now)
        else:
            log.warning("switchover_outcome_unknown", cluster=cluster.name, detail=ack.detail)
            record = await self._read_back(record, now)
        self.tracked[cluster.id] = record
        self._started(record)
        return record

    async def _read_back(self, record: SwitchoverRecord, now: dt.datetime) -> SwitchoverRecord:
        """After an ambiguous POST: DWS showing the task means accepted. Never POST again."""
        try:
            cluster = await self.client.get_cluster(record.cluster_id)
        except DwsError as exc:
            log.warning("switchover_read_back_failed", cluster=record.cluster_name, error=str(exc))
            return record  # stays unconfirmed; tracking decides within the grace period
        if cluster.switching:
            log.info("switchover_confirmed", cluster=record.cluster_name)
            return self._confirm(record, now)
        return record

    def _refused(
        self, record: SwitchoverRecord, exc: DwsError, now: dt.datetime
    ) -> SwitchoverRecord:
        """A definite refusal: nothing runs on DWS. Recorded as `rejected` (no cooldown, no budget)."""
        if isinstance(exc, PermissionDeniedError):
            self.forbidden[record.cluster_id] = str(exc)
            log.error(
                "switchover_forbidden",
                cluster=record.cluster_name,
                error=str(exc),
                hint="grant dws:cluster:switchover; no further attempts until restart",
            )
        elif isinstance(exc, BadRequestError) and exc.state_conflict:
            log.warning("switchover_rejected", cluster=record.cluster_name, error=str(exc))
        else:
            log.warning(
                "switchover_not_sent",
                cluster=record.cluster_name,
                error=str(exc),
                error_type=type(exc).__name__,
            )
        finished = self.journal.finish_switchover(
            _id(record),
            ended=now,
            outcome=Outcome.REJECTED,
            interruption_seconds=None,
            error=str(exc),
        )
        self._finished(finished)
        return finished

    # ---- following ------------------------------------------------------------------------

    def detect_external(
        self, clusters: Iterable[Cluster], now: dt.datetime
    ) -> list[SwitchoverRecord]:
        """Start tracking switchovers we see running but did not start in this process."""
        started = []
        for cluster in clusters:
            if not cluster.switching:
                self._abandoned.discard(cluster.id)
                continue
            if cluster.id in self.tracked or cluster.id in self._abandoned:
                continue
            # Another process of ours (a manual `switchover` command) may have journaled it.
            ours = {r.cluster_id: r for r in self.journal.in_flight()}
            if cluster.id in ours:
                record = ours[cluster.id]
                log.info("switchover_adopted", cluster=cluster.name, trigger=record.trigger.value)
            else:
                record = self.journal.begin_switchover(
                    SwitchoverRecord(cluster.id, cluster.name, Trigger.EXTERNAL, started=now)
                )
                log.warning(
                    "external_switchover_detected", cluster=cluster.name, cluster_id=cluster.id
                )
            self.tracked[cluster.id] = record
            self._started(record)
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
        finished = self.journal.finish_switchover(
            _id(record),
            ended=step.ended,
            outcome=step.outcome,
            interruption_seconds=step.interruption_seconds,
            error=step.error,
        )
        del self.tracked[record.cluster_id]
        if step.outcome is Outcome.TIMED_OUT:
            self._abandoned.add(record.cluster_id)
        self._finished(finished)
        succeeded = step.outcome is Outcome.SUCCEEDED
        (log.info if succeeded else log.error)(
            "switchover_succeeded" if succeeded else "switchover_ended",
            cluster=finished.cluster_name,
            cluster_id=finished.cluster_id,
            trigger=finished.trigger.value,
            outcome=step.outcome.value,
            interruption_seconds=step.interruption_seconds,
            error=step.error,
        )
        return finished

    # ---- bookkeeping ----------------------------------------------------------------------

    def _confirm(self, record: SwitchoverRecord, now: dt.datetime) -> SwitchoverRecord:
        self.journal.confirm_switchover(_id(record), at=now)
        return replace(record, confirmed=True)

    def _started(self, record: SwitchoverRecord) -> None:
        self.metrics.switchover_started(record)
        if self.on_event is not None:
            self.on_event(record)

    def _finished(self, record: SwitchoverRecord) -> None:
        self.metrics.switchover_finished(record)
        if self.on_event is not None:
            self.on_event(record)


def _id(record: SwitchoverRecord) -> int:
    if record.id is None:  # the journal always assigns one; this guards against misuse
        raise ValueError("switchover record has no journal id")
    return record.id
