"""Every Prometheus metric of the controller, on one registry, written from the loop's values."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from controller import __version__
from controller.model import ClientImpact, Cluster, Decision, SwitchoverRecord, Trigger
from controller.record.cluster_metrics import ClusterMetrics
from controller.record.events import LoadReading
from controller.record.series import TablesCollector

PREFIX = "dws_rebalancer_"

#: Interruptions run from seconds to tens of minutes; the alert threshold (300 s) is a boundary.
INTERRUPTION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
API_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CYCLE_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

#: Label values that are neither an HTTP status nor a snake_case word collapse into this one,
#: so a caller passing a URL or an error message cannot explode the series count.
OTHER = "other"
_WORD_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_STATUS_RE = re.compile(r"^[1-5]\d\d$")


class CycleErrorKind(StrEnum):
    """Why a poll cycle failed: the closed set of `kind` values of `cycle_errors_total`."""

    DWS_API = "dws_api"  # DWS answered with an error status
    DWS_AUTH = "dws_auth"  # 401/403 or credentials could not be obtained
    DWS_TRANSPORT = "dws_transport"  # no answer: timeout, connection refused/reset
    MALFORMED_RESPONSE = "malformed_response"  # an answer we could not parse
    JOURNAL = "journal"  # the SQLite journal could not be read or written
    INTERNAL = "internal"  # a bug: anything else


_ERROR_KINDS = frozenset(kind.value for kind in CycleErrorKind)
#: The `outcome` values of `notifications_total`.
NOTIFY_OUTCOMES = ("sent", "failed", "dropped", "duplicate", "abandoned")
#: Set by the image build (the Dockerfile's REVISION); "unknown" in a checkout.
REVISION_ENV = "DWS_REBALANCER_REVISION"


def build_revision() -> str:
    """The git revision the running build was made from, as the image recorded it."""
    revision = os.environ.get(REVISION_ENV, "").strip()
    return revision if re.fullmatch(r"[0-9a-f]{7,40}(-dirty)?", revision) else "unknown"


def register_process_metrics(registry: CollectorRegistry) -> None:
    """The build, and process_* (CPU, memory, file descriptors) and python_* (interpreter, GC)."""
    build = Gauge(
        PREFIX + "build_info",
        "Controller build; always 1.",
        ["version", "revision", "python_version"],
        registry=registry,
    )
    build.labels(__version__, build_revision(), platform.python_version()).set(1)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


class NotificationMetrics:
    """`notifications_total`: one notifier per process, whatever the number of targets."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._notifications = Counter(
            PREFIX + "notifications_total",
            "Notifications by channel (scheme or smn, and its index: never the URL), event and "
            "outcome: sent, failed (retries spent or refused), dropped (queue full), duplicate "
            "(already delivered, per the journal), abandoned (still queued at shutdown).",
            ["channel", "event", "outcome"],
            registry=registry,
        )

    def declare_notification_channel(self, channel: str, events: Sequence[str]) -> None:
        """Start a channel's series at 0, so an alert sees its first failure as an increase."""
        for event in events:
            for outcome in NOTIFY_OUTCOMES:
                self._notifications.labels(channel, event, outcome)

    def count_notification(self, channel: str, event: str, outcome: str) -> None:
        self._notifications.labels(channel, event, outcome).inc()


class Metrics:
    """The controller's metrics. One instance per process; never the global default registry."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        """`process=False` for a target's metrics in a fleet: the build and process series are
        the process's, exposed once beside the targets' (`controller.record.fleet_metrics`)."""
        # `_created` series double the exposition for no use on dashboards or alerts.
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.clusters = ClusterMetrics(PREFIX)
        self._create_fleet_metrics()
        self._create_controller_metrics()
        self.registry.register(TablesCollector(self.clusters.tables))
        #: Notifications are the process's (one notifier serves every target).
        self.notifications: NotificationMetrics | None = None
        if process:
            register_process_metrics(self.registry)
            self.notifications = NotificationMetrics(self.registry)
        for kind in CycleErrorKind:
            self._cycle_errors.labels(kind.value)

    def _gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(PREFIX + name, doc, labels, registry=self.registry)

    def _create_fleet_metrics(self) -> None:
        self._paused = self._gauge("paused", "1 while the controller is paused.")
        # Fleet-wide, by trigger: 16 series per cluster would be 160 000 at 10 000 clusters, and
        # the per-cluster story is in last_interruption_seconds and the journal (`history`).
        self._interruption = Histogram(
            PREFIX + "interruption_seconds",
            "How long switchovers interrupted their clusters, fleet-wide, by trigger.",
            ["trigger"],
            buckets=INTERRUPTION_BUCKETS,
            registry=self.registry,
        )
        self._client_interruption = Histogram(
            PREFIX + "client_interruption_seconds",
            "How long clients could not connect or query during switchovers (the data-plane "
            "probe's longest run of failures), fleet-wide, by trigger.",
            ["trigger"],
            buckets=INTERRUPTION_BUCKETS,
            registry=self.registry,
        )
        for trigger in Trigger:
            self._interruption.labels(trigger.value)
            self._client_interruption.labels(trigger.value)
        self._create_source_metrics()

    def _create_source_metrics(self) -> None:
        """The data sources beside DWS: the data-plane probe and the load gate's."""
        self._probes = Counter(
            PREFIX + "probes_total",
            "Data-plane probes of switchovers, by outcome: measured, no_samples, or unavailable "
            "(no endpoint or password: the switchover went on unmeasured).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("measured", "no_samples", "unavailable"):
            self._probes.labels(outcome)
        self._load_errors = Counter(
            PREFIX + "load_source_errors_total",
            "Cycles in which a load source (cloud_eye, prometheus) could not answer for some "
            "candidate cluster: those were held with load_unknown.",
            ["source"],
            registry=self.registry,
        )
        for source in ("cloud_eye", "prometheus"):
            self._load_errors.labels(source)
        self._probe_errors = Counter(
            PREFIX + "probe_errors_total",
            "Probe attempts that broke inside the probe itself (a bug, not an outage).",
            registry=self.registry,
        )

    def _create_controller_metrics(self) -> None:
        self._api_requests = Counter(
            PREFIX + "api_requests_total",
            "Requests to DWS and IAM, by operation and HTTP status (or transport failure).",
            ["operation", "code"],
            registry=self.registry,
        )
        self._api_unexpected = Counter(
            PREFIX + "api_unexpected_responses_total",
            "DWS answers accepted although they looked wrong, by operation and kind.",
            ["operation", "kind"],
            registry=self.registry,
        )
        self._api_unexpected.labels("switchover", "not_json")  # the one known case starts at 0
        self._api_duration = Histogram(
            PREFIX + "api_request_duration_seconds",
            "Duration of requests to DWS and IAM.",
            ["operation"],
            buckets=API_DURATION_BUCKETS,
            registry=self.registry,
        )
        self._cycle_duration = Histogram(
            PREFIX + "cycle_duration_seconds",
            "Duration of one poll cycle (observe, decide, act, record).",
            buckets=CYCLE_DURATION_BUCKETS,
            registry=self.registry,
        )
        self._last_success = self._gauge(
            "last_cycle_success_timestamp_seconds",
            "Unix time the last cycle completed; 0 until one has.",
        )
        self._cycle_errors = Counter(
            PREFIX + "cycle_errors_total",
            "Poll cycles that failed, by kind of error.",
            ["kind"],
            registry=self.registry,
        )

    # -- DWS client hook -------------------------------------------------------------------------

    def observe_api_request(self, operation: str, code: str, seconds: float) -> None:
        """One finished request: `code` is the HTTP status, or `timeout` / `connection_error`."""
        op = operation if _WORD_RE.match(operation) else OTHER
        code = code if _STATUS_RE.match(code) or _WORD_RE.match(code) else OTHER
        self._api_requests.labels(op, code).inc()
        self._api_duration.labels(op).observe(seconds)

    def observe_unexpected_response(self, operation: str, kind: str) -> None:
        """An answer accepted as it was although it looked wrong (e.g. a 200 that is not JSON)."""
        op = operation if _WORD_RE.match(operation) else OTHER
        self._api_unexpected.labels(op, kind if _WORD_RE.match(kind) else OTHER).inc()

    # -- notifications (the process's, not a target's) --------------------------------------------

    def declare_notification_channel(self, channel: str, events: Sequence[str]) -> None:
        self._notify().declare_notification_channel(channel, events)

    def count_notification(self, channel: str, event: str, outcome: str) -> None:
        self._notify().count_notification(channel, event, outcome)

    def _notify(self) -> NotificationMetrics:
        if self.notifications is None:
            raise RuntimeError("a target's metrics count no notifications: the fleet's do")
        return self.notifications

    # -- one poll: the per-cluster series live in `clusters` -----------------------------------------

    def observe_clusters(
        self,
        clusters: Sequence[Cluster],
        *,
        unbalanced_since: Mapping[str, dt.datetime],
        window_open: Mapping[str, bool | None],
    ) -> None:
        self.clusters.observe_clusters(
            clusters, unbalanced_since=unbalanced_since, window_open=window_open
        )

    def forget_cluster(self, cluster_id: str) -> None:
        self.clusters.forget_cluster(cluster_id)

    def observe_decision(self, decision: Decision) -> None:
        self.clusters.observe_decision(decision)

    def set_breaker(self, cluster_name: str, open_: bool) -> None:
        self.clusters.set_breaker(cluster_name, open_)

    def switchover_started(self, record: SwitchoverRecord) -> None:
        self.clusters.switchover_started(record)

    def switchover_finished(self, record: SwitchoverRecord) -> None:
        self.clusters.switchover_finished(record)
        if record.interruption_seconds is not None:
            self._interruption.labels(record.trigger.value).observe(record.interruption_seconds)

    def probe_finished(
        self, record: SwitchoverRecord, impact: ClientImpact, *, errors: int = 0
    ) -> None:
        self._probes.labels("measured" if impact.samples else "no_samples").inc()
        if errors:
            self._probe_errors.inc(errors)
        if impact.interruption_seconds is not None:
            self._client_interruption.labels(record.trigger.value).observe(
                impact.interruption_seconds
            )
        self.clusters.probe_finished(record, impact)

    def load_assessed(self, readings: Sequence[LoadReading]) -> None:
        """One load-gate read: the values per cluster, and one error per source that failed."""
        for reading in readings:
            self.clusters.load_read(reading.cluster_id, reading.cluster_name, reading.values)
        for source in {r.unknown_source for r in readings if r.unknown_source is not None}:
            self._load_errors.labels(source if _WORD_RE.match(source) else OTHER).inc()

    def set_approval(
        self, cluster_id: str, name: str, state: str | None, slot: dt.datetime | None
    ) -> None:
        self.clusters.set_approval(cluster_id, name, state, slot)

    def probe_skipped(self) -> None:
        self._probes.labels("unavailable").inc()

    def set_paused(self, paused: bool) -> None:
        self._paused.set(1 if paused else 0)

    # -- the loop itself -------------------------------------------------------------------------

    def observe_cycle(
        self, *, seconds: float, ok: bool, error_kind: str | None, now: dt.datetime
    ) -> None:
        """One finished cycle; an unknown `error_kind` counts as `internal`."""
        self._cycle_duration.observe(seconds)
        if ok:
            self._last_success.set(now.timestamp())
            return
        kind = error_kind if error_kind in _ERROR_KINDS else CycleErrorKind.INTERNAL.value
        self._cycle_errors.labels(kind).inc()
