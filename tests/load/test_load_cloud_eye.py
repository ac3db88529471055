"""The CES client against the emulated Cloud Eye: values over the lookback, filters, node maxima,
batching under a cap, and every way a call fails closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from loadkit import CALM, ETL, SK, TIMEOUT, at, in_process, node_ids, target

from controller.clock import ManualClock
from controller.load.cloud_eye import CloudEyeClient, CloudEyeError, Target, parse_batch
from controller.load.facts import Reading, Unknown
from controller.simulator.cloudeye import BATCH
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

SQL = "dws008_active_sql_count"
CPU = "dws010_cpu_usage"
MINUTES = dt.timedelta(minutes=1)


async def read(
    sim: Simulator,
    clock: ManualClock,
    now: dt.datetime,
    metrics: list[str],
    *,
    lookback: int = 15,
    filter: str = "max",
    targets: list[Target] | None = None,
    **client: Any,
) -> dict[str, Reading | Unknown]:
    clock.set(now)
    ces = in_process(sim, clock, **client)
    try:
        return await ces.latest(
            targets or [target(sim, ETL), target(sim, CALM)],
            metrics,
            now=now,
            lookback=lookback * MINUTES,
            filter=filter,
        )
    finally:
        await ces.aclose()


# Cluster metric points every 4 minutes (:00, :04, ...); ETL peak 01:00-03:00 (end exclusive).
@pytest.mark.parametrize(
    ("now", "lookback", "filter", "expected"),
    [
        pytest.param(at(2), 15, "max", 30, id="inside the peak"),
        pytest.param(at(12), 15, "max", 5, id="outside the peak"),
        pytest.param(at(1, 10), 15, "max", 30, id="peak starting: max"),
        pytest.param(at(1, 10), 15, "min", 5, id="peak starting: min"),
        pytest.param(at(1, 10), 15, "average", 23.75, id="peak starting: average of 5,30,30,30"),
        pytest.param(at(1, 10), 15, "sum", 95, id="peak starting: sum"),
        pytest.param(at(1, 10), 15, "variance", 117.1875, id="peak starting: variance"),
        pytest.param(at(3, 10), 15, "max", 30, id="peak ended, lookback still holds it"),
        pytest.param(at(3, 10), 5, "max", 5, id="peak ended, short lookback misses it"),
        pytest.param(at(1, 2), 5, "max", 30, id="short lookback catches the first peak point"),
    ],
)
async def test_cluster_metric_over_the_lookback(
    sim: Simulator,
    clock: ManualClock,
    now: dt.datetime,
    lookback: int,
    filter: str,
    expected: float,
) -> None:
    readings = await read(sim, clock, now, [SQL], lookback=lookback, filter=filter)
    etl = readings[ETL]
    assert isinstance(etl, Reading)
    assert etl.values[SQL] == pytest.approx(expected)
    assert etl.basis == f"{filter} over {lookback}m"
    assert SQL not in etl.nodes  # a cluster metric has no node


@pytest.mark.parametrize(
    ("now", "cluster", "expected", "node_index"),
    [
        pytest.param(at(2), ETL, 100, 2, id="peak: busiest node 80 x 1.25"),
        pytest.param(at(12), ETL, 25, 2, id="base: busiest node 20 x 1.25"),
        pytest.param(at(2), CALM, 10, 0, id="equal nodes: the first one counts"),
    ],
)
async def test_node_metric_counts_the_busiest_node(
    sim: Simulator,
    clock: ManualClock,
    now: dt.datetime,
    cluster: str,
    expected: float,
    node_index: int,
) -> None:
    reading = (await read(sim, clock, now, [CPU, SQL]))[cluster]
    assert isinstance(reading, Reading)
    assert reading.values[CPU] == pytest.approx(expected)
    assert reading.nodes[CPU] == node_ids(sim, cluster)[node_index]


@pytest.mark.parametrize(
    ("cap", "calls"),
    [(1, 8), (3, 3), (8, 1), (10, 1)],
)
async def test_all_clusters_share_batches_of_at_most_the_cap(
    clock: ManualClock, cap: int, calls: int
) -> None:
    from loadkit import world

    sim = world(clock, max_metrics_per_call=cap)  # the emulator refuses a bigger batch
    readings = await read(sim, clock, at(2), [SQL, CPU], cap=cap)
    # Two clusters, each one cluster series and three node series: eight series.
    assert sim.counts[BATCH] == calls
    assert all(isinstance(r, Reading) for r in readings.values())
    assert readings[ETL].values == {SQL: 30, CPU: 100}  # type: ignore[union-attr]


async def test_a_batch_over_the_clouds_cap_is_refused_and_fails_closed(
    clock: ManualClock,
) -> None:
    from loadkit import world

    sim = world(clock, max_metrics_per_call=3)
    readings = await read(sim, clock, at(2), [SQL, CPU], cap=10)
    assert readings[ETL] == readings[CALM]
    assert isinstance(readings[ETL], Unknown)
    assert readings[ETL].detail.startswith("HTTP 400 ces.0014: at most 3 metrics per call")


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        pytest.param({"kind": "status"}, "HTTP 503 ces.503: injected fault", id="503"),
        pytest.param({"kind": "status", "status": 500}, "HTTP 500 ces.500", id="500"),
        pytest.param({"kind": "malformed"}, "unparsable answer (JSONDecodeError)", id="malformed"),
        pytest.param(
            {"kind": "timeout", "seconds": 5}, f"no answer within {TIMEOUT:g}s", id="timeout"
        ),
        pytest.param(
            {"kind": "empty", "times": None},
            f"no datapoints for {SQL} of datastore_id=",
            id="empty datapoints in every answer",
        ),
    ],
)
async def test_a_failing_call_makes_every_cluster_unknown_and_stops(
    sim: Simulator, clock: ManualClock, fault: dict[str, Any], detail: str
) -> None:
    sim.cloud_eye.inject(**fault)
    readings = await read(sim, clock, at(2), [SQL, CPU], cap=3)
    for reading in readings.values():
        assert isinstance(reading, Unknown)
        assert reading.source == "cloud_eye"
        assert reading.detail.startswith(detail)
    # After a failed call the others are not made; empty datapoints are an answer, not a failure.
    assert sim.counts[BATCH] == (3 if fault["kind"] == "empty" else 1)


@pytest.mark.parametrize(
    ("targets", "now", "lookback", "detail"),
    [
        pytest.param(
            [Target(ETL)], at(2), 15, f"{CPU} is a node metric and the cluster's nodes are unknown",
            id="nodes unknown",
        ),
        pytest.param(
            [Target("0f0e0d0c-0000-4000-8000-000000000000", ("n-1",))], at(2), 15,
            f"no datapoints for {SQL} of datastore_id=0f0e0d0c", id="cluster unknown to CES",
        ),
        pytest.param(
            [Target(ETL, ("not-a-node",))], at(2), 15,
            f"no datapoints for {CPU} of dws_instance_id=not-a-node", id="one node unknown to CES",
        ),
        pytest.param(
            None, at(12, 3), 2, f"no datapoints for {SQL}", id="lookback inside one raw period",
        ),
    ],
)  # fmt: skip
async def test_what_cloud_eye_cannot_see_is_unknown(
    sim: Simulator,
    clock: ManualClock,
    targets: list[Target] | None,
    now: dt.datetime,
    lookback: int,
    detail: str,
) -> None:
    chosen = targets or [target(sim, ETL)]
    readings = await read(sim, clock, now, [SQL, CPU], lookback=lookback, targets=chosen)
    reading = readings[chosen[0].cluster_id]
    assert isinstance(reading, Unknown)
    assert reading.detail.startswith(detail)


async def test_one_clusters_unknown_nodes_leave_the_others_readable(
    sim: Simulator, clock: ManualClock
) -> None:
    readings = await read(sim, clock, at(2), [SQL, CPU], targets=[Target(ETL), target(sim, CALM)])
    assert isinstance(readings[ETL], Unknown)
    assert readings[CALM] == Reading(
        {SQL: 2, CPU: 10}, {CPU: node_ids(sim, CALM)[0]}, "max over 15m"
    )


async def test_a_wrong_secret_key_is_unknown_and_the_detail_names_no_secret(
    sim: Simulator, clock: ManualClock
) -> None:
    wrong = "wrong-secret-key-0123456789"
    readings = await read(sim, clock, at(2), [SQL], sk=wrong)
    reading = readings[ETL]
    assert isinstance(reading, Unknown)
    assert reading.detail.startswith("HTTP 401 APIGW.0301")
    assert wrong not in reading.detail
    assert SK not in reading.detail


async def test_history_is_hourly_averages_of_whole_hours(
    sim: Simulator, clock: ManualClock
) -> None:
    ces = in_process(sim, clock)
    try:
        history = await ces.history([target(sim, ETL)], [SQL], now=clock.now(), days=8)
    finally:
        await ces.aclose()
    points = history[ETL]
    assert not isinstance(points, Unknown)
    ((series, found),) = points.items()
    assert series.metric == SQL
    assert len(found) == 8 * 24  # every whole hour of the last 8 days, none unfinished
    by_hour = {p.at.hour: p.value for p in found}
    assert (by_hour[0], by_hour[1], by_hour[2], by_hour[3]) == (5, 30, 30, 5)
    assert found[-1].at == clock.now() - dt.timedelta(hours=1)


def test_the_client_refuses_a_cap_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CloudEyeClient(
            endpoint="http://x", project_id="p", auth=None, timeout=1, max_metrics_per_call=0
        )  # type: ignore[arg-type]


async def test_over_a_real_socket(sim: Simulator, clock: ManualClock) -> None:
    from loadkit import PROJECT, aksk

    with BackgroundServer(sim, wall_clock=clock) as server:
        ces = CloudEyeClient(
            endpoint=server.url,
            project_id=PROJECT,
            auth=aksk(clock),
            timeout=5,
            max_metrics_per_call=10,
        )
        clock.set(at(2))
        try:
            readings = await ces.latest(
                [target(sim, ETL)], [SQL, CPU], now=at(2), lookback=15 * MINUTES
            )
        finally:
            await ces.aclose()
    assert readings[ETL] == Reading(
        {SQL: 30, CPU: 100}, {CPU: node_ids(sim, ETL)[2]}, "max over 15m"
    )


_SERIES = {
    "namespace": "SYS.DWS",
    "metric_name": SQL,
    "dimensions": [{"name": "datastore_id", "value": "c"}],
}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>503</html>", id="not JSON"),
        pytest.param(b'{"metrics": {"oops": 1}}', id="metrics not a list"),
        pytest.param(b'{"metrics": [{"metric_name": "x"}]}', id="entry without dimensions"),
        pytest.param(b'{"datapoints": []}', id="no metrics key"),
        pytest.param(b"[]", id="a list"),
    ],
)
def test_unparsable_batch_answers(body: bytes) -> None:
    with pytest.raises(CloudEyeError, match="unparsable answer"):
        parse_batch(body, "max")


@pytest.mark.parametrize(
    "point",
    [
        pytest.param({"max": "12", "timestamp": 1}, id="value a string"),
        pytest.param({"max": True, "timestamp": 1}, id="value a boolean"),
        pytest.param({"max": float("nan"), "timestamp": 1}, id="value NaN"),
        pytest.param({"average": 1.0, "timestamp": 1}, id="not the filter asked for"),
        pytest.param({"max": 1.0, "timestamp": "1"}, id="timestamp a string"),
        pytest.param({"max": 1.0, "timestamp": 1.5}, id="timestamp not an integer"),
        pytest.param({"max": 1.0}, id="no timestamp"),
        pytest.param({"max": 1.0, "timestamp": 10**30}, id="timestamp out of range"),
    ],
)
def test_unreadable_datapoints(point: dict[str, Any]) -> None:
    import json

    body = json.dumps({"metrics": [{**_SERIES, "datapoints": [point]}]}).encode()
    with pytest.raises(CloudEyeError, match="unparsable answer"):
        parse_batch(body, "max")


def test_two_dimensions_on_one_series_are_unparsable() -> None:
    import json

    dims = [{"name": "datastore_id", "value": "c"}, {"name": "dws_instance_id", "value": "n"}]
    body = json.dumps({"metrics": [{**_SERIES, "dimensions": dims, "datapoints": []}]}).encode()
    with pytest.raises(CloudEyeError):
        parse_batch(body, "max")
