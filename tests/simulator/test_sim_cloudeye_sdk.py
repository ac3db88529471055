"""The vendor's own CES client (huaweicloudsdkces) reads the emulated Cloud Eye over a real socket,
and sees what our client sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from huaweicloudsdkces.v1 import (
    BatchListMetricDataRequest,
    BatchListMetricDataRequestBody,
    CesClient,
    MetricInfo,
    MetricsDimension,
    ShowMetricDataRequest,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from pydantic import SecretStr
from sim_helpers import AK, PROJECT, SK, UUID_A

from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth
from controller.load.cloud_eye import CloudEyeClient, Target
from controller.load.facts import Reading
from controller.simulator import render
from controller.simulator.cloudeye import BATCH, SHOW, CloudEyeSpec
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

SQL = "dws008_active_sql_count"
CPU = "dws010_cpu_usage"
NOW = dt.datetime(2026, 3, 11, 2, 0, tzinfo=dt.UTC)  # inside the nightly peak
CURVES = {
    "clusters": {
        "alpha": {
            "metrics": {
                SQL: {"base": 4, "peaks": [{"start": "01:00", "end": "03:00", "value": 24}]},
                CPU: {"base": 20, "peaks": [{"start": "01:00", "end": "03:00", "value": 60}]},
            },
            "node_factors": [1.0, 1.5, 0.5],
        }
    }
}


@pytest.fixture
def server(sim: Simulator, clock: ManualClock) -> Iterator[BackgroundServer]:
    CloudEyeSpec.model_validate(CURVES).install(sim.cloud_eye, {"alpha": UUID_A})
    clock.set(NOW)
    # Signatures are judged by the wall clock: the vendor SDK signs with the real time.
    with BackgroundServer(sim) as running:
        yield running


def sdk(url: str, sk: str = SK) -> Any:
    credentials = BasicCredentials(AK, sk, PROJECT)
    return CesClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()


def nodes(sim: Simulator) -> list[str]:
    return [n["id"] for n in render.detail(sim.cluster(UUID_A), sim.now)["nodes"]]


def epoch_ms(instant: dt.datetime) -> int:
    return int(instant.timestamp() * 1000)


def test_the_vendor_sdk_reads_batches(server: BackgroundServer, sim: Simulator) -> None:
    infos = [MetricInfo("SYS.DWS", SQL, [MetricsDimension("datastore_id", UUID_A)])] + [
        MetricInfo("SYS.DWS", CPU, [MetricsDimension("dws_instance_id", n)]) for n in nodes(sim)
    ]
    start = NOW - dt.timedelta(minutes=15)
    body = BatchListMetricDataRequestBody(
        metrics=infos, period="1", filter="max", _from=epoch_ms(start), to=epoch_ms(NOW)
    )
    answer = sdk(server.url).batch_list_metric_data(BatchListMetricDataRequest(body=body))
    got = {
        (m.metric_name, m.dimensions[0].value): max(p.max for p in m.datapoints)
        for m in answer.metrics
    }
    first, second, third = nodes(sim)
    assert got == {(SQL, UUID_A): 24, (CPU, first): 60, (CPU, second): 90, (CPU, third): 30}
    assert {m.unit for m in answer.metrics} == {"Count", "%"}
    assert sim.counts[BATCH] == 1


def test_the_vendor_sdk_reads_one_metric(server: BackgroundServer, sim: Simulator) -> None:
    request = ShowMetricDataRequest(
        namespace="SYS.DWS",
        metric_name=SQL,
        dim_0=f"datastore_id,{UUID_A}",
        filter="average",
        period=3600,
        _from=epoch_ms(NOW - dt.timedelta(hours=3)),
        to=epoch_ms(NOW),
    )
    answer = sdk(server.url).show_metric_data(request)
    assert answer.metric_name == SQL
    assert [(p.timestamp, p.average) for p in answer.datapoints] == [
        (epoch_ms(NOW - dt.timedelta(hours=3)), 4),  # 23:00-00:00
        (epoch_ms(NOW - dt.timedelta(hours=2)), 4),  # 00:00-01:00
        (epoch_ms(NOW - dt.timedelta(hours=1)), 24),  # 01:00-02:00, the peak
    ]
    assert sim.counts[SHOW] == 1


def test_the_vendor_sdk_is_refused_with_a_wrong_key(server: BackgroundServer) -> None:
    request = ShowMetricDataRequest(
        namespace="SYS.DWS",
        metric_name=SQL,
        dim_0=f"datastore_id,{UUID_A}",
        filter="max",
        period=1,
        _from=epoch_ms(NOW - dt.timedelta(minutes=15)),
        to=epoch_ms(NOW),
    )
    with pytest.raises(ClientRequestException) as caught:
        sdk(server.url, sk="not-the-secret-key").show_metric_data(request)
    assert (caught.value.status_code, caught.value.error_code) == (401, "APIGW.0301")


async def test_our_client_sees_what_the_vendor_sdk_sees(
    server: BackgroundServer, sim: Simulator
) -> None:
    auth = AkSkAuth(AK, SecretStr(SK), project_id=PROJECT)  # the wall clock, like the SDK
    ces = CloudEyeClient(
        endpoint=server.url, project_id=PROJECT, auth=auth, timeout=5, max_metrics_per_call=2
    )
    try:
        readings = await ces.latest(
            [Target(UUID_A, tuple(nodes(sim)))],
            [SQL, CPU],
            now=NOW,
            lookback=dt.timedelta(minutes=15),
        )
    finally:
        await ces.aclose()
    assert readings[UUID_A] == Reading({SQL: 24, CPU: 90}, {CPU: nodes(sim)[1]}, "max over 15m")
    assert sim.counts[BATCH] == 2  # four series, two per call
