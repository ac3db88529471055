"""The log sink: one structured line per event, the cluster bound once per event."""

from __future__ import annotations

from typing import Any

import structlog

from controller.model import Decision, Outcome, SwitchoverRecord
from controller.record.events import (
    BreakerOpened,
    ClusterGone,
    ClusterStuck,
    CycleFailed,
    DecisionMade,
    Event,
    Origin,
    ProbeFinished,
    ProbeSkipped,
    Refusal,
    SwitchoverConfirmed,
    SwitchoverFinished,
    SwitchoverPlanned,
    SwitchoverStarted,
    SwitchoverStarting,
)

_log = structlog.get_logger("controller.record.log")

#: A refused POST: its log level and what the line adds to the error.
_REFUSALS: dict[str, tuple[str, dict[str, str]]] = {
    "switchover_forbidden": (
        "error",
        {"hint": "grant dws:cluster:switchover; no further attempts until restart"},
    ),
    "switchover_rejected": ("warning", {}),
    "switchover_not_sent": ("warning", {}),
}


class LogSink:
    durable = False

    def __init__(self, logger: Any = None) -> None:
        self.log = logger if logger is not None else _log

    def handle(self, event: Event) -> None:
        match event:
            case DecisionMade(decision=decision, changed=changed):
                self._decision(decision, changed)
            case SwitchoverStarting(record=record, origin=Origin.EXTERNAL):
                self._bound(record).warning("external_switchover_detected")
            case SwitchoverStarting(record=record):
                self._bound(record).info(
                    "switchover_requested",
                    trigger=record.trigger.value,
                    load=None if record.load_at_trigger is None else dict(record.load_at_trigger),
                )
            case SwitchoverStarted():
                self._started(event)
            case SwitchoverConfirmed(record=record, read_back=True):
                self._bound(record).info("switchover_confirmed")
            case SwitchoverFinished(record=record, refusal=Refusal() as refusal):
                self._refused(record, refusal)
            case SwitchoverFinished(record=record):
                self._finished(record)
            case ProbeFinished() | ProbeSkipped():
                self._probe(event)
            case BreakerOpened(cluster_id=cluster_id, cluster_name=name):
                self.log.bind(cluster=name, cluster_id=cluster_id).error(
                    "breaker_opened",
                    consecutive_failures=event.consecutive_failures,
                    fix="look at the cluster, then `dws-rebalancer reset-breaker CLUSTER`",
                )
            case ClusterGone() | SwitchoverPlanned() | ClusterStuck():
                self._of_cluster(event)
            case CycleFailed():
                self.log.error(
                    "cycle_failed",
                    kind=event.kind,
                    error=str(event.error),
                    consecutive=event.consecutive,
                    retry_in=event.retry_in,
                    exc_info=event.error if event.internal else False,
                )

    def _decision(self, d: Decision, changed: bool) -> None:
        # No bind(): a kept decision's debug line is usually dropped, so build nothing for it.
        (self.log.info if changed else self.log.debug)(
            "decision",
            cluster=d.cluster_name,
            cluster_id=d.cluster_id,
            action=d.action.value,
            reason=d.reason.value,
            detail=d.detail,
            next_eligible=d.next_eligible.isoformat() if d.next_eligible else None,
        )

    def _of_cluster(self, event: ClusterGone | SwitchoverPlanned | ClusterStuck) -> None:
        log = self.log.bind(cluster=event.cluster_name, cluster_id=event.cluster_id)
        if isinstance(event, ClusterGone):
            log.info("cluster_gone")
        elif isinstance(event, SwitchoverPlanned):
            log.info("switchover_planned", slot=event.slot.isoformat(), detail=event.detail)
        else:
            since, reason, detail = event.since.isoformat(), event.reason, event.detail
            log.warning("cluster_stuck", since=since, reason=reason, detail=detail)

    def _probe(self, event: ProbeFinished | ProbeSkipped) -> None:
        if isinstance(event, ProbeSkipped):
            self._bound(event.record).warning("probe_unavailable", reason=event.reason)
            return
        impact = event.impact
        self._bound(event.record).info(
            "client_interruption_measured",
            client_interruption_seconds=impact.interruption_seconds,
            failed_seconds=impact.failed_seconds,
            control_plane_seconds=event.record.interruption_seconds,
            samples=impact.samples,
            probe_errors=event.errors,
        )

    def _bound(self, record: SwitchoverRecord) -> Any:
        return self.log.bind(cluster=record.cluster_name, cluster_id=record.cluster_id)

    def _started(self, event: SwitchoverStarted) -> None:
        record, log = event.record, self._bound(event.record)
        if event.origin is Origin.ADOPTED:
            log.info("switchover_adopted", trigger=record.trigger.value)
        elif event.origin is Origin.RESUMED:
            log.info(
                "switchover_resumed",
                trigger=record.trigger.value,
                started=record.started.isoformat(),
            )

    def _refused(self, record: SwitchoverRecord, refusal: Refusal) -> None:
        level, extra = _REFUSALS.get(refusal.event, ("warning", {}))
        fields: dict[str, Any] = {"error": refusal.error, **extra}
        if refusal.event == "switchover_not_sent":
            fields["error_type"] = refusal.error_type
        getattr(self._bound(record), level)(refusal.event, **fields)

    def _finished(self, record: SwitchoverRecord) -> None:
        succeeded = record.outcome is Outcome.SUCCEEDED
        log = self._bound(record)
        (log.info if succeeded else log.error)(
            "switchover_succeeded" if succeeded else "switchover_ended",
            trigger=record.trigger.value,
            outcome=record.outcome.value if record.outcome else None,
            interruption_seconds=record.interruption_seconds,
            error=record.error,
        )
