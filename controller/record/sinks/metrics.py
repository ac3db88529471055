"""The metrics sink: every event that moves a Prometheus series, onto `Metrics`."""

from __future__ import annotations

from controller.record.events import (
    ApprovalStateChanged,
    ClusterGone,
    ClustersObserved,
    CycleFailed,
    CycleFinished,
    DecisionMade,
    Event,
    LoadAssessed,
    ProbeFinished,
    ProbeSkipped,
    SwitchoverFinished,
    SwitchoverStarted,
)
from controller.record.metrics import Metrics


class MetricsSink:
    durable = False

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def handle(self, event: Event) -> None:
        m = self.metrics
        match event:
            case DecisionMade(verdict=verdict):
                m.observe_decision(verdict.decision)
                m.set_breaker(verdict.decision.cluster_name, verdict.breaker_open)
            case ClusterGone(cluster_id=cluster_id):
                m.forget_cluster(cluster_id)
            case SwitchoverStarted(record=record):
                m.switchover_started(record)
            case SwitchoverFinished(record=record):
                m.switchover_finished(record)
            case ProbeFinished(record=record, impact=impact, errors=errors):
                m.probe_finished(record, impact, errors=errors)
            case ProbeSkipped():
                m.probe_skipped()
            case ApprovalStateChanged(cluster_id=cid, cluster_name=name, state=state, slot=slot):
                m.set_approval(cid, name, state, slot)
            case LoadAssessed(readings=readings):
                m.load_assessed(readings)
            case ClustersObserved():
                m.set_paused(event.paused)
                m.observe_clusters(
                    event.clusters,
                    unbalanced_since=event.unbalanced_since,
                    window_open=event.window_open,
                )
            case CycleFinished(at=at, seconds=seconds):
                m.observe_cycle(seconds=seconds, ok=True, error_kind=None, now=at)
            case CycleFailed(at=at, seconds=seconds, kind=kind):
                m.observe_cycle(seconds=seconds, ok=False, error_kind=kind, now=at)
