"""Every Prometheus metric of the controller, on one registry, written from the loop's values."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controller import __version__
from controller.model import Action, Cluster, Decision, Outcome, SwitchoverRecord, Trigger

PREFIX = "dws_rebalancer_"
CLUSTER_LABEL = "dws_cluster"

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


class Metrics:
    """The controller's metrics. One instance per process; never the global default registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # `_created` series double the exposition for no use on dashboards or alerts.
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._names: dict[str, str] = {}  # cluster id -> name, for every cluster with series
        self._info_labels: dict[str, tuple[str, str, str]] = {}  # cluster id -> info labels
        self._decision_labels: dict[str, set[tuple[str, str]]] = {}  # name -> {(action, reason)}
        self._blocked_reason: dict[str, str] = {}  # name -> current block reason
        self._create_fleet_metrics()
        self._create_cluster_metrics()
        self._create_controller_metrics()
        self._build_info.labels(__version__).set(1)
        for kind in CycleErrorKind:
            self._cycle_errors.labels(kind.value)

    def _gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(PREFIX + name, doc, labels, registry=self.registry)

    def _create_fleet_metrics(self) -> None:
        c = (CLUSTER_LABEL,)
        self._build_info = self._gauge("build_info", "Controller build; always 1.", ["version"])
        self._cluster_info = self._gauge(
            "cluster_info",
            "A DWS cluster seen in the last poll; always 1.",
            [CLUSTER_LABEL, "dws_cluster_id", "version"],
        )
        self._unbalanced = self._gauge(
            "cluster_unbalanced", "1 when the cluster's sub_status contains UNBALANCED.", c
        )
        self._unbalanced_since = self._gauge(
            "cluster_unbalanced_since_timestamp_seconds",
            "Unix time since when the cluster has been unbalanced; absent when balanced.",
            c,
        )
        self._window_open = self._gauge(
            "window_open", "1 when a switchover window is open now; absent when unknown.", c
        )
        self._paused = self._gauge("paused", "1 while the controller is paused.")

    def _create_cluster_metrics(self) -> None:
        c = (CLUSTER_LABEL,)
        self._decisions = Counter(
            PREFIX + "decisions_total",
            "Decisions taken, by action and reason.",
            [CLUSTER_LABEL, "action", "reason"],
            registry=self.registry,
        )
        self._blocked = self._gauge(
            "cluster_blocked", "1 for the reason currently blocking the cluster.", [*c, "reason"]
        )
        self._next_eligible = self._gauge(
            "next_eligible_timestamp_seconds",
            "Unix time the cluster may next be switched over; absent when unknown.",
            c,
        )
        self._switchovers = Counter(
            PREFIX + "switchovers_total",
            "Finished switchovers, by who triggered them and how they ended.",
            [CLUSTER_LABEL, "trigger", "outcome"],
            registry=self.registry,
        )
        self._in_progress = self._gauge(
            "switchover_in_progress", "1 while a switchover of the cluster is tracked.", c
        )
        self._last_switchover = self._gauge(
            "last_switchover_timestamp_seconds", "Unix time the last switchover ended.", c
        )
        self._create_outcome_metrics()

    def _create_outcome_metrics(self) -> None:
        c = (CLUSTER_LABEL,)
        self._interruption = Histogram(
            PREFIX + "interruption_seconds",
            "How long a switchover interrupted the cluster.",
            c,
            buckets=INTERRUPTION_BUCKETS,
            registry=self.registry,
        )
        self._last_interruption = self._gauge(
            "last_interruption_seconds", "Interruption of the last measured switchover.", c
        )
        self._breaker = self._gauge(
            "breaker_open", "1 while the failure circuit breaker stops switchovers.", c
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

    # -- one poll --------------------------------------------------------------------------------

    def observe_clusters(
        self,
        clusters: Sequence[Cluster],
        *,
        unbalanced_since: Mapping[str, dt.datetime],
        window_open: Mapping[str, bool | None],
    ) -> None:
        """The fleet as just observed (maps keyed by cluster id); vanished clusters lose every series."""
        present = {c.id: c.name for c in clusters}
        present_names = set(present.values())
        for cluster_id, name in list(self._names.items()):
            if present.get(cluster_id) != name and name not in present_names:
                self._forget(name)
            if cluster_id not in present:
                self._drop_info(cluster_id)
                del self._names[cluster_id]
        for cluster in clusters:
            self._observe_cluster(
                cluster, unbalanced_since.get(cluster.id), window_open.get(cluster.id)
            )

    def _observe_cluster(
        self, cluster: Cluster, since: dt.datetime | None, window_open: bool | None
    ) -> None:
        name = cluster.name
        self._track(cluster.id, name)
        info = (name, cluster.id, cluster.raw_version or "unknown")
        if self._info_labels.get(cluster.id) != info:
            self._drop_info(cluster.id)
            self._cluster_info.labels(*info).set(1)
            self._info_labels[cluster.id] = info
        self._unbalanced.labels(name).set(1 if cluster.unbalanced else 0)
        _set_or_remove(self._unbalanced_since, name, since.timestamp() if since else None)
        _set_or_remove(self._window_open, name, None if window_open is None else int(window_open))

    def _track(self, cluster_id: str, name: str) -> None:
        """Remember the cluster and give it zeroed series, so rate() sees its first event."""
        if self._names.get(cluster_id) == name:
            return
        self._names[cluster_id] = name
        for trigger, outcome in itertools.product(Trigger, Outcome):
            self._switchovers.labels(name, trigger.value, outcome.value)
        self._interruption.labels(name)
        self._in_progress.labels(name).set(0)
        self._breaker.labels(name).set(0)

    def _drop_info(self, cluster_id: str) -> None:
        labels = self._info_labels.pop(cluster_id, None)
        if labels is not None:
            self._cluster_info.remove(*labels)

    def _forget(self, name: str) -> None:
        """Remove every per-cluster series of a cluster that is gone (or renamed)."""
        for gauge in (
            self._unbalanced,
            self._unbalanced_since,
            self._window_open,
            self._next_eligible,
            self._in_progress,
            self._last_switchover,
            self._last_interruption,
            self._breaker,
        ):
            gauge.remove(name)
        self._interruption.remove(name)
        for trigger, outcome in itertools.product(Trigger, Outcome):
            self._switchovers.remove(name, trigger.value, outcome.value)
        for action, reason in self._decision_labels.pop(name, set()):
            self._decisions.remove(name, action, reason)
        self._set_blocked(name, None)

    def observe_decision(self, decision: Decision) -> None:
        name = decision.cluster_name
        self._track(decision.cluster_id, name)
        labels = (decision.action.value, decision.reason.value)
        self._decisions.labels(name, *labels).inc()
        self._decision_labels.setdefault(name, set()).add(labels)
        blocked = decision.action is Action.BLOCKED
        self._set_blocked(name, decision.reason.value if blocked else None)
        eligible = decision.next_eligible
        _set_or_remove(self._next_eligible, name, eligible.timestamp() if eligible else None)

    def _set_blocked(self, name: str, reason: str | None) -> None:
        previous = self._blocked_reason.pop(name, None)
        if previous is not None and previous != reason:
            self._blocked.remove(name, previous)
        if reason is not None:
            self._blocked.labels(name, reason).set(1)
            self._blocked_reason[name] = reason

    # -- switchovers -----------------------------------------------------------------------------

    def switchover_started(self, record: SwitchoverRecord) -> None:
        self._track(record.cluster_id, record.cluster_name)
        self._in_progress.labels(record.cluster_name).set(1)

    def switchover_finished(self, record: SwitchoverRecord) -> None:
        name = record.cluster_name
        self._track(record.cluster_id, name)
        if record.outcome is not None:
            self._switchovers.labels(name, record.trigger.value, record.outcome.value).inc()
        if record.interruption_seconds is not None:
            self._interruption.labels(name).observe(record.interruption_seconds)
            self._last_interruption.labels(name).set(record.interruption_seconds)
        self._last_switchover.labels(name).set((record.ended or record.started).timestamp())
        self._in_progress.labels(name).set(0)

    def set_breaker(self, cluster_name: str, open_: bool) -> None:
        self._breaker.labels(cluster_name).set(1 if open_ else 0)

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


def _set_or_remove(gauge: Gauge, name: str, value: float | None) -> None:
    if value is None:
        gauge.remove(name)
    else:
        gauge.labels(name).set(value)
