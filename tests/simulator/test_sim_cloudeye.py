"""The emulated Cloud Eye: datapoints from daily and weekly curves, CES's period rules, refusals,
signatures, faults, and the scenario's `cloud_eye:` section."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sim_helpers import AK, BASE, PROJECT, SK, UUID_A, UUID_B

from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth
from controller.simulator import render
from controller.simulator.app import create_app
from controller.simulator.cloudeye import BATCH, SHOW, CloudEyeSpec
from controller.simulator.scenario import ScenarioError, load_scenario
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator

SQL = "dws008_active_sql_count"
CPU = "dws010_cpu_usage"
#: alpha: ETL every night 01:30-03:00 UTC, and a Wednesday report 12:00-13:00 Shanghai time.
CURVES = {
    "clusters": {
        "alpha": {
            "metrics": {
                SQL: {
                    "base": 4,
                    "peaks": [
                        {"start": "01:30", "end": "03:00", "value": 34},
                        {"days": ["Wed"], "start": "04:00", "end": "05:00", "value": 14},
                    ],
                },
                CPU: {"base": 20, "peaks": [{"start": "01:30", "end": "03:00", "value": 80}]},
            },
            "node_factors": [1.0, 0.5],
        },
        UUID_B: {
            "timezone": "Asia/Shanghai",
            "metrics": {
                SQL: {"base": 1, "peaks": [{"start": "01:00", "end": "03:00", "value": 9}]}
            },
        },
    }
}


def ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture
def ces_sim(sim: Simulator, clock: ManualClock) -> Simulator:
    CloudEyeSpec.model_validate(CURVES).install(
        sim.cloud_eye, {"alpha": UUID_A, UUID_A: UUID_A, UUID_B: UUID_B}
    )
    clock.set(dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC))  # Wednesday noon, a week on
    return sim


@pytest.fixture
async def ces(ces_sim: Simulator, wall: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client signing like the controller (AK/SK, X-Project-Id) against the emulator."""
    auth = AkSkAuth(AK, SecretStr(SK), project_id=PROJECT, clock=wall)
    transport = SimulatorTransport(create_app(ces_sim, wall_clock=wall))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, auth=auth, timeout=0.5
    ) as http:
        yield http


def node(sim: Simulator, cluster: str, index: int) -> str:
    return str(render.detail(sim.cluster(cluster), sim.now)["nodes"][index]["id"])


def series(metric: str, value: str, dimension: str = "datastore_id") -> dict[str, Any]:
    return {
        "namespace": "SYS.DWS",
        "metric_name": metric,
        "dimensions": [{"name": dimension, "value": value}],
    }


async def batch(
    http: httpx.AsyncClient,
    metrics: list[dict[str, Any]],
    start: int,
    end: int,
    period: int | str = 1,
    filter: str = "max",
) -> httpx.Response:
    body = {"metrics": metrics, "from": start, "to": end, "period": str(period), "filter": filter}
    return await http.post(f"/V1.0/{PROJECT}/batch-query-metric-data", json=body)


async def points(http: httpx.AsyncClient, one: dict[str, Any], *args: Any) -> list[dict[str, Any]]:
    response = await batch(http, [one], *args)
    assert response.status_code == 200, response.text
    (entry,) = response.json()["metrics"]
    assert entry["metric_name"] == one["metric_name"]
    assert entry["dimensions"] == one["dimensions"]
    return list(entry["datapoints"])


async def test_raw_points_follow_each_metrics_period_and_curve(
    ces: httpx.AsyncClient, ces_sim: Simulator
) -> None:
    cluster = await points(ces, series(SQL, UUID_A), ms(2026, 3, 10, 1, 20), ms(2026, 3, 10, 1, 40))
    assert [(p["timestamp"], p["max"]) for p in cluster] == [
        (ms(2026, 3, 10, 1, 20), 4),
        (ms(2026, 3, 10, 1, 24), 4),
        (ms(2026, 3, 10, 1, 28), 4),
        (ms(2026, 3, 10, 1, 32), 34),
        (ms(2026, 3, 10, 1, 36), 34),
        (ms(2026, 3, 10, 1, 40), 34),
    ]
    assert {p["unit"] for p in cluster} == {"Count"}
    second_node = series(CPU, node(ces_sim, UUID_A, 1), "dws_instance_id")
    nodes = await points(ces, second_node, ms(2026, 3, 10, 1, 28), ms(2026, 3, 10, 1, 31))
    assert [p["max"] for p in nodes] == [10, 10, 40, 40]  # 1-minute points, factor 0.5
    assert {p["unit"] for p in nodes} == {"%"}


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        # 01:00-02:00 sampled every 5 minutes: 6 samples at 4 before 01:30, 6 at 34 from it.
        ("max", 34),
        ("min", 4),
        ("average", 19),
        ("sum", 228),
        ("variance", 225),
    ],
)
async def test_an_aggregated_bucket_combines_its_samples(
    ces: httpx.AsyncClient, filter: str, expected: float
) -> None:
    found = await points(
        ces, series(SQL, UUID_A), ms(2026, 3, 10, 1), ms(2026, 3, 10, 2), 3600, filter
    )
    assert [(p["timestamp"], p[filter]) for p in found] == [(ms(2026, 3, 10, 1), expected)]


@pytest.mark.parametrize(
    ("start", "end", "period", "count"),
    [
        pytest.param(ms(2026, 3, 10, 1), ms(2026, 3, 10, 2), 3600, 1, id="one whole hour"),
        pytest.param(ms(2026, 3, 10, 1, 1), ms(2026, 3, 10, 2), 3600, 0, id="inside one period"),
        pytest.param(ms(2026, 3, 10, 1), ms(2026, 3, 10, 1, 59), 3600, 0, id="short of a period"),
        pytest.param(ms(2026, 3, 10, 1), ms(2026, 3, 10, 2), 300, 12, id="five minutes"),
        pytest.param(ms(2026, 3, 10), ms(2026, 3, 11), 14400, 6, id="four hours"),
        pytest.param(ms(2026, 3, 11, 10), ms(2026, 3, 11, 14), 3600, 2, id="never past now"),
        pytest.param(ms(2026, 3, 11, 11, 50), ms(2026, 3, 11, 13), 1, 3, id="raw, never past now"),
    ],
)
async def test_buckets_lie_wholly_inside_the_query_and_before_now(
    ces: httpx.AsyncClient, start: int, end: int, period: int, count: int
) -> None:
    assert len(await points(ces, series(SQL, UUID_A), start, end, period, "average")) == count


@pytest.mark.parametrize(
    ("cluster", "at", "expected"),
    [
        pytest.param(UUID_A, ms(2026, 3, 11, 4, 20), 14, id="weekly peak on Wednesday"),
        pytest.param(UUID_A, ms(2026, 3, 10, 4, 20), 4, id="no weekly peak on Tuesday"),
        pytest.param(UUID_B, ms(2026, 3, 10, 17, 20), 9, id="Shanghai 01:20 is 17:20 UTC"),
        pytest.param(UUID_B, ms(2026, 3, 10, 1, 20), 1, id="01:20 UTC is Shanghai's 09:20"),
    ],
)
async def test_daily_and_weekly_curves_in_the_clusters_zone(
    ces: httpx.AsyncClient, cluster: str, at: int, expected: float
) -> None:
    (point,) = await points(ces, series(SQL, cluster), at, at + 60_000)
    assert point["max"] == expected


async def test_what_cloud_eye_does_not_know_answers_empty_datapoints(
    ces: httpx.AsyncClient, ces_sim: Simulator
) -> None:
    start, end = ms(2026, 3, 11, 11), ms(2026, 3, 11, 11, 30)
    unknown = [
        series(SQL, "no-such-cluster"),
        series(CPU, "no-such-node", "dws_instance_id"),
        series(CPU, UUID_A),  # a node metric asked by cluster
        series(SQL, node(ces_sim, UUID_A, 0), "dws_instance_id"),  # the reverse
        series("dws999_made_up", UUID_A),
    ]
    response = await batch(ces, unknown, start, end)
    assert [m["datapoints"] for m in response.json()["metrics"]] == [[]] * 5
    # A cluster the scenario gives no curve reads 0, like an idle one.
    gamma = ces_sim.add_cluster(id="3c1d0e2f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", name="gamma")
    assert {p["max"] for p in await points(ces, series(SQL, gamma.id), start, end)} == {0}


async def test_metric_data_answers_what_the_batch_does(
    ces: httpx.AsyncClient, ces_sim: Simulator
) -> None:
    start, end = ms(2026, 3, 10, 1), ms(2026, 3, 10, 3)
    params = {
        "namespace": "SYS.DWS",
        "metric_name": SQL,
        "dim.0": f"datastore_id,{UUID_A}",
        "from": str(start),
        "to": str(end),
        "period": "1200",
        "filter": "average",
    }
    response = await ces.get(f"/V1.0/{PROJECT}/metric-data", params=params)
    assert response.status_code == 200, response.text
    assert ces_sim.counts[SHOW] == 1
    assert response.json()["metric_name"] == SQL
    assert response.json()["datapoints"] == await points(
        ces, series(SQL, UUID_A), start, end, 1200, "average"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"period": "7"}, "invalid request body (ValueError)", id="period"),
        pytest.param({"filter": "p99"}, "filter must be one of", id="filter"),
        pytest.param({"to": ms(2026, 3, 10)}, "from must be before to", id="from after to"),
        pytest.param({"from": "soon"}, "invalid request body (ValueError)", id="from not a number"),
        pytest.param({"metrics": []}, "metrics must be a non-empty list", id="no metrics"),
        pytest.param(
            {"metrics": [{**series(SQL, UUID_A), "namespace": "SYS.ECS"}]},
            "namespace SYS.DWS only",
            id="namespace",
        ),
        pytest.param(
            {"metrics": [{"namespace": "SYS.DWS", "metric_name": SQL}]},
            "invalid metric (KeyError)",
            id="no dimensions",
        ),
    ],
)
async def test_bad_requests_are_refused_like_ces(
    ces: httpx.AsyncClient, change: dict[str, Any], message: str
) -> None:
    body = {
        "metrics": [series(SQL, UUID_A)],
        "from": ms(2026, 3, 10, 1),
        "to": ms(2026, 3, 10, 2),
        "period": "1",
        "filter": "max",
        **change,
    }
    response = await ces.post(f"/V1.0/{PROJECT}/batch-query-metric-data", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ces.0014"
    assert message in error["message"]


async def test_more_metrics_than_the_cap_are_refused(
    ces: httpx.AsyncClient, ces_sim: Simulator
) -> None:
    ces_sim.cloud_eye.max_metrics_per_call = 2
    many = [series(SQL, UUID_A), series(SQL, UUID_B), series(SQL, "x")]
    response = await batch(ces, many, ms(2026, 3, 10, 1), ms(2026, 3, 10, 2))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "at most 2 metrics per call, not 3"
    assert (await batch(ces, many[:2], ms(2026, 3, 10, 1), ms(2026, 3, 10, 2))).status_code == 200


async def test_calls_are_authenticated_like_dws(ces_sim: Simulator, wall: ManualClock) -> None:
    app = create_app(ces_sim, wall_clock=wall)
    body = {"metrics": [series(SQL, UUID_A)], "from": 0, "to": 1, "period": "1", "filter": "max"}
    async with httpx.AsyncClient(transport=SimulatorTransport(app), base_url=BASE) as http:
        unsigned = await http.post(f"/V1.0/{PROJECT}/batch-query-metric-data", json=body)
        wrong = AkSkAuth(AK, SecretStr("not-the-sk"), project_id=PROJECT, clock=wall)
        bad_sk = await http.post(f"/V1.0/{PROJECT}/batch-query-metric-data", json=body, auth=wrong)
        right = AkSkAuth(AK, SecretStr(SK), project_id=None, clock=wall)
        other = await http.get("/V1.0/another-project/metric-data", auth=right)
    assert (unsigned.status_code, unsigned.json()["error_code"]) == (401, "APIGW.0301")
    assert (bad_sk.status_code, bad_sk.json()["error_code"]) == (401, "APIGW.0301")
    assert (other.status_code, other.json()["error_code"]) == (403, "APIGW.0302")
    assert ces_sim.counts[BATCH] == 0
    assert ces_sim.counts["unauthorized"] == 3


async def test_faults_then_normal_answers(ces: httpx.AsyncClient, ces_sim: Simulator) -> None:
    one = series(SQL, UUID_A)
    start, end = ms(2026, 3, 10, 1), ms(2026, 3, 10, 2)
    ces_sim.cloud_eye.inject("status", status=502)
    ces_sim.cloud_eye.inject("empty")
    ces_sim.cloud_eye.inject("malformed")
    ces_sim.cloud_eye.inject("timeout", seconds=5)
    failed = await batch(ces, [one], start, end)
    assert (failed.status_code, failed.json()["error"]["code"]) == (502, "ces.502")
    assert (await batch(ces, [one], start, end)).json()["metrics"][0]["datapoints"] == []
    with pytest.raises(json.JSONDecodeError):
        (await batch(ces, [one], start, end)).json()
    with pytest.raises(httpx.ReadTimeout):
        await batch(ces, [one], start, end)
    assert len(await points(ces, one, start, end)) == 16
    assert ces_sim.counts[BATCH] == 5


def test_faults_are_checked() -> None:
    from controller.simulator.cloudeye import CloudEye

    with pytest.raises(ValueError, match="unknown Cloud Eye fault 'slow'"):
        CloudEye().inject("slow")
    with pytest.raises(ValueError, match="an HTTP error status, not 200"):
        CloudEye().inject("status", status=200)


SCENARIO = """
start: 2026-03-04T00:00:00+00:00
clusters:
  - {name: etl, sub_status: UNBALANCED}
  - {name: calm}
cloud_eye:
  max_metrics_per_call: 10
  clusters:
    etl:
      timezone: Asia/Shanghai
      metrics:
        dws010_cpu_usage:
          base: 15
          peaks: [{start: "01:00", end: "03:00", value: 90}]
  faults:
    - {kind: status, status: 503}
    - {at: 1h, kind: empty, times: 2}
"""


def test_a_scenario_file_sets_curves_cap_and_faults(tmp_path: Path) -> None:
    path = tmp_path / "load.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(path)
    sim = scenario.build(ManualClock(dt.datetime(2026, 3, 4, tzinfo=dt.UTC)))
    etl = sim.cluster("etl")
    assert set(sim.cloud_eye.curves) == {etl.id}
    assert sim.cloud_eye.curves[etl.id].metrics[CPU].peaks[0].value == 90
    assert sim.cloud_eye.max_metrics_per_call == 10
    assert [f.kind for f in sim.cloud_eye.pending.faults] == ["status"]
    sim.clock.advance(dt.timedelta(hours=1))  # type: ignore[attr-defined]
    sim.catch_up()
    assert [(f.kind, f.times) for f in sim.cloud_eye.pending.faults] == [
        ("status", 1),
        ("empty", 2),
    ]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        pytest.param(
            "clusters: {nobody: {}}", "cloud_eye.clusters.nobody: no cluster named", id="cluster"
        ),
        pytest.param(
            "clusters: {etl: {metrics: {cpu: {base: 1}}}}",
            "unknown SYS.DWS metric(s): cpu",
            id="metric",
        ),
        pytest.param("faults: [{kind: slow}]", "cloud_eye.faults.0.kind", id="fault kind"),
        pytest.param(
            "clusters: {etl: {node_factors: [-1]}}",
            "node factors must be finite numbers",
            id="factor",
        ),
        pytest.param("max_metrics_per_call: 0", "cloud_eye.max_metrics_per_call", id="cap"),
    ],
)
def test_a_bad_cloud_eye_section_names_the_field(
    tmp_path: Path, section: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"clusters: [{{name: etl}}]\ncloud_eye: {{{section}}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"scenario file .* is invalid") as caught:
        load_scenario(path)
    assert message in str(caught.value)


def test_the_documented_cloud_eye_section_loads(tmp_path: Path) -> None:
    docs = Path(__file__).parents[2] / "docs" / "emulator.md"
    section = docs.read_text(encoding="utf-8").split("## Cloud Eye", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "documented.yaml"
    path.write_text("clusters: [{name: dws-sales}]\n" + example, encoding="utf-8")
    sim = load_scenario(path).build(ManualClock(dt.datetime(2026, 3, 2, tzinfo=dt.UTC)))
    spec = sim.cloud_eye.curves[sim.cluster("dws-sales").id]
    assert spec.node_factors == [1.0, 0.6, 1.3]
    assert [p.days for p in spec.metrics[SQL].peaks][1] == ["Mon"]
    assert sim.cloud_eye.max_metrics_per_call == 10
