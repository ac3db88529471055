"""The Cloud Eye (CES) client: SYS.DWS metrics of many clusters in batches, failing closed per cluster.

One `POST /V1.0/{project_id}/batch-query-metric-data` carries at most `max_metrics_per_call`
series (clouds differ: 10 or 500); all clusters of a cycle share the calls. A cluster metric is
one series (`datastore_id` = the cluster id), a node metric one series per node
(`dws_instance_id` = the node id) and the busiest node counts. The caller hands in the same
`httpx.Auth` the DWS client signs with, so CES sees the same credentials.

A call that fails (HTTP error, timeout, unparsable answer) makes every cluster it concerned
`Unknown`, and the calls after it are not made: an API that just failed would most likely fail
again, and each attempt could cost a full timeout. A series without datapoints, or a node metric
of a cluster whose nodes are not known, makes its cluster `Unknown` too.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from controller.cloud_http import client_context, error_text
from controller.config_types import format_duration
from controller.load.facts import CLOUD_EYE, Point, Reading, Unknown
from controller.settings import CLOUD_EYE_METRICS

NAMESPACE = "SYS.DWS"
#: The periods CES accepts: 1 is the raw data.
PERIODS = (1, 300, 1200, 3600, 14400, 86400)
FILTERS = ("average", "max", "min", "sum", "variance")
#: How the points inside the lookback are combined, by filter name.
COMBINE: Mapping[str, Callable[[Sequence[float]], float]] = {
    "average": statistics.fmean,
    "max": max,
    "min": min,
    "sum": math.fsum,
    "variance": statistics.pvariance,
}
#: The load profile reads this many days of hourly data, at most this many series per call.
HISTORY_DAYS = 28
HISTORY_BATCH = 10


class CloudEyeError(Exception):
    """One call failed; the message says how (never a credential)."""


@dataclass(frozen=True)
class Target:
    """A cluster to read: its id, and its node ids (from the cluster's `nodes` in the DWS answer)."""

    cluster_id: str
    node_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Series:
    """One metric of one dimension value: a line of the batch body."""

    metric: str
    dimension: str
    value: str

    def body(self) -> dict[str, Any]:
        return {
            "namespace": NAMESPACE,
            "metric_name": self.metric,
            "dimensions": [{"name": self.dimension, "value": self.value}],
        }


@dataclass(frozen=True)
class Window:
    """What to ask for: epoch-millisecond bounds, the period, and the filter."""

    start: dt.datetime
    end: dt.datetime
    period: int
    filter: str

    def body(self) -> dict[str, Any]:
        return {
            "from": _epoch_ms(self.start),
            "to": _epoch_ms(self.end),
            "period": str(self.period),
            "filter": self.filter,
        }


def series_of(target: Target, metrics: Iterable[str]) -> list[Series] | Unknown:
    """The series a target's metrics need, or Unknown when node metrics meet unknown nodes."""
    found: list[Series] = []
    for metric in metrics:
        dimension, _ = CLOUD_EYE_METRICS[metric]
        if dimension == "datastore_id":
            found.append(Series(metric, dimension, target.cluster_id))
        elif not target.node_ids:
            return Unknown(
                CLOUD_EYE, f"{metric} is a node metric and the cluster's nodes are unknown"
            )
        else:
            found.extend(Series(metric, dimension, node) for node in target.node_ids)
    return found


def chunks(series: Sequence[Series], cap: int) -> list[Sequence[Series]]:
    """The series in batches of at most `cap`."""
    return [series[i : i + cap] for i in range(0, len(series), cap)]


class CloudEyeClient:
    """Reads SYS.DWS metrics; one instance per endpoint and project, closed with `aclose()`."""

    def __init__(
        self,
        *,
        endpoint: str,
        project_id: str,
        auth: httpx.Auth,
        timeout: float,
        max_metrics_per_call: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_metrics_per_call < 1:
            raise ValueError("max_metrics_per_call must be at least 1")
        self._path = f"/V1.0/{project_id}/batch-query-metric-data"
        self._cap = max_metrics_per_call
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=endpoint,
            auth=auth,
            timeout=timeout,
            transport=transport,
            verify=client_context(),
        )
        #: Batch calls made, for the caller's metrics and the tests.
        self.calls = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def latest(
        self,
        targets: Sequence[Target],
        metrics: Sequence[str],
        *,
        now: dt.datetime,
        lookback: dt.timedelta,
        filter: str = "max",
    ) -> dict[str, Reading | Unknown]:
        """Each target's reading over [now - lookback, now] from the raw data (period 1)."""
        window = Window(now - lookback, now, 1, filter)
        fetched = await self.fetch(targets, metrics, window)
        basis = f"{filter} over {format_duration(lookback)}"
        return {
            cluster: answer if isinstance(answer, Unknown) else _reading(answer, filter, basis)
            for cluster, answer in fetched.items()
        }

    async def history(
        self,
        targets: Sequence[Target],
        metrics: Sequence[str],
        *,
        now: dt.datetime,
        days: int = HISTORY_DAYS,
    ) -> dict[str, dict[Series, list[Point]] | Unknown]:
        """Hourly averages (period 3600) of the last `days` days, for the load profile."""
        window = Window(now - dt.timedelta(days=days), now, 3600, "average")
        # 24 points a day per series: a smaller batch keeps the answer under CES's 512 KB.
        return await self.fetch(targets, metrics, window, cap=min(self._cap, HISTORY_BATCH))

    async def fetch(
        self,
        targets: Sequence[Target],
        metrics: Sequence[str],
        window: Window,
        *,
        cap: int | None = None,
    ) -> dict[str, dict[Series, list[Point]] | Unknown]:
        """Each target's points per series in `window`; Unknown for a target any problem touched."""
        wanted = {t.cluster_id: series_of(t, metrics) for t in targets}
        needed = [s for found in wanted.values() if not isinstance(found, Unknown) for s in found]
        unique = list(dict.fromkeys(needed))
        answers, failure = await self._batches(unique, window, cap or self._cap)
        return {
            cluster: found
            if isinstance(found, Unknown)
            else _points_of(found, answers, failure, window)
            for cluster, found in wanted.items()
        }

    async def _batches(
        self, series: Sequence[Series], window: Window, cap: int
    ) -> tuple[dict[Series, list[Point]], Unknown | None]:
        answers: dict[Series, list[Point]] = {}
        for batch in chunks(series, cap):
            try:
                answers.update(await self._call(batch, window))
            except CloudEyeError as exc:
                return answers, Unknown(CLOUD_EYE, str(exc))
        return answers, None

    async def _call(self, batch: Sequence[Series], window: Window) -> dict[Series, list[Point]]:
        body = {"metrics": [s.body() for s in batch], **window.body()}
        self.calls += 1
        try:
            response = await self._http.post(self._path, json=body)
        except httpx.TimeoutException:
            raise CloudEyeError(f"no answer within {self._timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise CloudEyeError(f"request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise CloudEyeError(error_text(response))
        return parse_batch(response.content, window.filter)


def parse_batch(content: bytes, filter: str) -> dict[Series, list[Point]]:
    """The points of each series in a batch answer; CloudEyeError if any part cannot be read."""
    try:
        metrics = httpx.Response(200, content=content).json()["metrics"]
        return dict(_entry(entry, filter) for entry in metrics)
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
        raise CloudEyeError(f"unparsable answer ({type(exc).__name__})") from None


def _entry(entry: Mapping[str, Any], filter: str) -> tuple[Series, list[Point]]:
    (dimension,) = entry["dimensions"]
    series = Series(str(entry["metric_name"]), str(dimension["name"]), str(dimension["value"]))
    return series, [_point(p, filter) for p in entry["datapoints"]]


def _point(raw: Mapping[str, Any], filter: str) -> Point:
    value, stamp = raw[filter], raw["timestamp"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{filter} is not a number")
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise TypeError("timestamp is not an integer")
    return Point(dt.datetime.fromtimestamp(stamp / 1000, dt.UTC), float(value))


def _points_of(
    series: list[Series],
    answers: Mapping[Series, list[Point]],
    failure: Unknown | None,
    window: Window,
) -> dict[Series, list[Point]] | Unknown:
    found: dict[Series, list[Point]] = {}
    for one in series:
        if one not in answers:
            return failure or Unknown(CLOUD_EYE, f"no answer for {_name(one)}")
        points = [p for p in answers[one] if window.start <= p.at <= window.end]
        if not points:
            return Unknown(CLOUD_EYE, f"no datapoints for {_name(one)} {_span(window)}")
        found[one] = points
    return found


def _reading(points: Mapping[Series, list[Point]], filter: str, basis: str) -> Reading:
    combine = COMBINE[filter]
    values: dict[str, float] = {}
    nodes: dict[str, str] = {}
    for series, found in points.items():
        value = combine([p.value for p in found])
        if series.metric not in values or value > values[series.metric]:
            values[series.metric] = value  # a node metric: the busiest node counts
            if series.dimension == "dws_instance_id":
                nodes[series.metric] = series.value
    return Reading(values, nodes, basis)


def _name(series: Series) -> str:
    return f"{series.metric} of {series.dimension}={series.value}"


def _span(window: Window) -> str:
    return f"in the last {format_duration(window.end - window.start)}"


def _epoch_ms(instant: dt.datetime) -> int:
    return int(instant.timestamp() * 1000)
