"""The emulated Cloud Eye (CES): SYS.DWS metric data from per-cluster daily and weekly load curves.

Serves `POST /V1.0/{project_id}/batch-query-metric-data` and `GET /V1.0/{project_id}/metric-data`
(signed like DWS: the app checks them as it checks DWS calls). A cluster's curve per metric is a
base value plus peaks, each on some weekdays between two local times (a nightly ETL 01:00–03:00);
a node metric is the curve times the node's factor. Datapoints follow CES: the raw period of a
metric (4 min for cluster metrics, 1 min for node ones) for `period: 1`, else one aggregate per
period-long bucket lying wholly inside `from`..`to` and before now, so a query that does not
reach back one period is empty. An unknown dimension value answers empty datapoints, as CES does.

Faults (`CloudEye.inject`): `status` (an error status, 503 by default), `empty` (every series
without datapoints), `malformed` (a truncated body), `timeout` (no answer; the app hangs).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from controller.config_types import TimeOfDay, Weekday, Zone, parse_duration
from controller.guards.timewindow import MaintenanceSpan, window_open
from controller.model import WEEKDAYS
from controller.settings import CLOUD_EYE_METRICS
from controller.simulator.faults import PendingFaults, Reply, ServiceFault

if TYPE_CHECKING:
    from controller.simulator.auth import Request

BATCH = "ces_batch_query"
SHOW = "ces_metric_data"
OPERATIONS = (BATCH, SHOW)
NAMESPACE = "SYS.DWS"
PERIODS = (1, 300, 1200, 3600, 14400, 86400)
FILTERS = ("average", "max", "min", "sum", "variance")
FAULT_KINDS = ("status", "empty", "malformed", "timeout")
#: Samples of the curve per aggregated bucket, at most: every 5 minutes of an hour, so peaks
#: starting on a multiple of 5 minutes are exact and 28 days of hourly data stay quick.
_SAMPLES_PER_BUCKET = 12
_BAD_REQUEST = "ces.0014"
_AGGREGATE: Mapping[str, Callable[[Sequence[float]], float]] = {
    "average": statistics.fmean,
    "max": max,
    "min": min,
    "sum": math.fsum,
    "variance": statistics.pvariance,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeakSpec(_Model):
    """A busy spell: on `days`, from `start` to `end` local time (`end <= start` crosses midnight)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    start: TimeOfDay
    end: TimeOfDay
    value: float = Field(ge=0)


class CurveSpec(_Model):
    base: float = Field(0.0, ge=0)
    peaks: list[PeakSpec] = Field(default_factory=list)


class ClusterLoadSpec(_Model):
    """One cluster's curves: per metric, in the cluster's business zone; node factors by index."""

    timezone: Zone = Field(default_factory=lambda: ZoneInfo("UTC"))
    metrics: dict[str, CurveSpec] = Field(default_factory=dict)
    node_factors: list[float] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _known(cls, value: dict[str, CurveSpec]) -> dict[str, CurveSpec]:
        unknown = sorted(set(value) - set(CLOUD_EYE_METRICS))
        if unknown:
            raise ValueError(f"unknown SYS.DWS metric(s): {', '.join(unknown)}")
        return value

    @field_validator("node_factors")
    @classmethod
    def _factors(cls, value: list[float]) -> list[float]:
        if any(not 0 <= f < float("inf") for f in value):
            raise ValueError("node factors must be finite numbers >= 0")
        return value


class ServiceFaultSpec(_Model):
    """A Cloud Eye fault: pending from the start, or from `at` (an offset) on."""

    at: Annotated[dt.timedelta, BeforeValidator(parse_duration)] | None = None
    kind: Literal["status", "empty", "malformed", "timeout"]
    times: int | None = Field(1, ge=1)
    status: int = Field(503, ge=400, le=599)
    seconds: float = Field(60.0, ge=0)

    def apply(self, ce: CloudEye) -> None:
        ce.inject(self.kind, times=self.times, status=self.status, seconds=self.seconds)


class CloudEyeSpec(_Model):
    """The scenario's `cloud_eye:` section: curves by cluster name or id, the batch cap, faults."""

    max_metrics_per_call: int = Field(500, ge=1)
    clusters: dict[str, ClusterLoadSpec] = Field(default_factory=dict)
    faults: list[ServiceFaultSpec] = Field(default_factory=list)

    def install(self, ce: CloudEye, ids: Mapping[str, str]) -> None:
        """Configure `ce`; `ids` maps every cluster name and id to the id (names are checked)."""
        ce.max_metrics_per_call = self.max_metrics_per_call
        ce.curves = {ids[key]: spec for key, spec in self.clusters.items()}
        for fault in self.faults:
            if fault.at is None:
                fault.apply(ce)


@dataclass
class CloudEye:
    """The emulated CES of one project: curves by cluster id, the batch cap, pending faults."""

    curves: dict[str, ClusterLoadSpec] = field(default_factory=dict)
    max_metrics_per_call: int = 500
    pending: PendingFaults = field(default_factory=lambda: PendingFaults("Cloud Eye", FAULT_KINDS))

    def inject(
        self, kind: str, *, times: int | None = 1, status: int = 503, seconds: float = 60.0
    ) -> None:
        self.pending.inject(kind, times=times, status=status, seconds=seconds)

    def take(self) -> ServiceFault | None:
        """The next pending fault, with one use consumed."""
        return self.pending.take()


@dataclass(frozen=True)
class Query:
    """One series and the bounds it is asked over."""

    metric: str
    dimension: str
    value: str
    start: int  # epoch ms
    end: int
    period: int
    filter: str


class BadQuery(ValueError):
    """A request CES would refuse with 400."""


def answer(
    ce: CloudEye,
    operation: str,
    request: Request,
    nodes: Mapping[str, Sequence[str]],
    now: dt.datetime,
    fault: ServiceFault | None = None,
) -> Reply:
    """The reply to a CES request; `nodes` maps each cluster id to its node ids."""
    if fault is not None and fault.kind == "status":
        return _error(fault.status, f"ces.{fault.status}", "injected fault")
    if fault is not None and fault.kind == "malformed":
        return Reply(200, b'{"metrics": [{"namespace": "SYS.DWS", "metric_na')
    try:
        queries = _batch_queries(ce, request) if operation == BATCH else [_show_query(request)]
    except BadQuery as exc:
        return _error(400, _BAD_REQUEST, str(exc))
    empty = fault is not None and fault.kind == "empty"
    found = [[] if empty else datapoints(ce, q, nodes, now) for q in queries]
    if operation == SHOW:
        return _json({"datapoints": found[0], "metric_name": queries[0].metric})
    return _json(
        {"metrics": [_batch_entry(q, points) for q, points in zip(queries, found, strict=True)]}
    )


def datapoints(
    ce: CloudEye, query: Query, nodes: Mapping[str, Sequence[str]], now: dt.datetime
) -> list[dict[str, Any]]:
    """The datapoints CES would return for one series."""
    curve = _curve_of(ce, query, nodes)
    if curve is None:
        return []
    _, raw = CLOUD_EYE_METRICS[query.metric]
    raw_ms = int(raw.total_seconds() * 1000)
    end = min(query.end, int(now.timestamp() * 1000))
    if query.period == 1:
        stamps = range(-(-query.start // raw_ms) * raw_ms, end + 1, raw_ms)
        return [_point(query, t, curve(t)) for t in stamps]
    period_ms = query.period * 1000
    step = max(raw_ms, period_ms // _SAMPLES_PER_BUCKET)
    first = -(-query.start // period_ms) * period_ms
    return [
        _point(
            query, b, _AGGREGATE[query.filter]([curve(t) for t in range(b, b + period_ms, step)])
        )
        for b in range(first, end - period_ms + 1, period_ms)
    ]


def _curve_of(
    ce: CloudEye, query: Query, nodes: Mapping[str, Sequence[str]]
) -> Callable[[int], float] | None:
    if query.metric not in CLOUD_EYE_METRICS:
        return None
    dimension, _ = CLOUD_EYE_METRICS[query.metric]
    if query.dimension != dimension:
        return None
    if dimension == "datastore_id":
        cluster, factor = query.value, 1.0
        if cluster not in nodes:
            return None
    else:
        located = next(
            ((c, i) for c, ids in nodes.items() for i, n in enumerate(ids) if n == query.value),
            None,
        )
        if located is None:
            return None
        cluster, index = located
        factors = ce.curves[cluster].node_factors if cluster in ce.curves else []
        factor = factors[index] if index < len(factors) else 1.0
    spec = ce.curves.get(cluster)
    return _curve(spec, query.metric, factor)


def _curve(spec: ClusterLoadSpec | None, metric: str, factor: float) -> Callable[[int], float]:
    """The metric's value at an epoch-ms instant: 0 for a metric the scenario leaves out."""
    curve = spec.metrics.get(metric) if spec is not None else None
    if spec is None or curve is None:
        return lambda _ms: 0.0
    # The guards' window arithmetic: the same zones, midnight and DST rules as the windows.
    peaks = [
        (MaintenanceSpan(tuple(p.days), p.start, p.end, spec.timezone), p.value)
        for p in curve.peaks
    ]

    def value(ms: int) -> float:
        at = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        busy = [v for span, v in peaks if window_open([span], at)]
        return max([curve.base, *busy]) * factor

    return value


def _batch_queries(ce: CloudEye, request: Request) -> list[Query]:
    try:
        body = json.loads(request.body)
        metrics = body["metrics"]
        common = (int(body["from"]), int(body["to"]), _period(body["period"]), body["filter"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadQuery(f"invalid request body ({type(exc).__name__})") from None
    if not isinstance(metrics, list) or not metrics:
        raise BadQuery("metrics must be a non-empty list")
    if len(metrics) > ce.max_metrics_per_call:
        raise BadQuery(f"at most {ce.max_metrics_per_call} metrics per call, not {len(metrics)}")
    return [_query(m, *common) for m in metrics]


def _query(metric: Any, start: int, end: int, period: int, filter: Any) -> Query:
    try:
        (dimension,) = metric["dimensions"]
        namespace, name = metric["namespace"], str(metric["metric_name"])
        query = Query(
            name, str(dimension["name"]), str(dimension["value"]), start, end, period, filter
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadQuery(f"invalid metric ({type(exc).__name__})") from None
    if namespace != NAMESPACE:
        raise BadQuery(f"this emulator serves namespace {NAMESPACE} only, not {namespace!r}")
    return _checked(query)


def _show_query(request: Request) -> Query:
    params = dict(request.query)
    try:
        name, _, value = params["dim.0"].partition(",")
        query = Query(
            params["metric_name"],
            name,
            value,
            int(params["from"]),
            int(params["to"]),
            _period(params["period"]),
            params["filter"],
        )
    except (ValueError, KeyError) as exc:
        raise BadQuery(f"invalid query ({type(exc).__name__}: {exc})") from None
    if params.get("namespace") != NAMESPACE:
        raise BadQuery(f"this emulator serves namespace {NAMESPACE} only")
    return _checked(query)


def _period(value: Any) -> int:
    period = int(value)
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    return period


def _checked(query: Query) -> Query:
    if query.filter not in FILTERS:
        raise BadQuery(f"filter must be one of {', '.join(FILTERS)}, not {query.filter!r}")
    if query.start >= query.end:
        raise BadQuery("from must be before to")
    return query


def _point(query: Query, stamp: int, value: float) -> dict[str, Any]:
    return {query.filter: round(value, 4), "timestamp": stamp, "unit": _unit(query.metric)}


def _unit(metric: str) -> str:
    if metric.endswith(("_usage", "_ratio")):
        return "%"
    if metric.endswith(("_bytes_in", "_bytes_out", "_throughput")):
        return "Byte/s"
    return "Count"


def _batch_entry(query: Query, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "namespace": NAMESPACE,
        "metric_name": query.metric,
        "dimensions": [{"name": query.dimension, "value": query.value}],
        "datapoints": points,
        "unit": _unit(query.metric),
    }


def _error(status: int, code: str, message: str) -> Reply:
    return _json({"error": {"code": code, "message": message}}, status)


def _json(payload: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode(), (("Content-Type", "application/json"),))
