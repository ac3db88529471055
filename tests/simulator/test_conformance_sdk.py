"""Conformance: the vendor's own SDK (huaweicloudsdkdws) signs real requests against the emulator.

If the vendor SDK can list, read and switch over clusters here, and is refused with a wrong SK,
the emulator speaks the real wire format: signing, paths, query parameters and JSON field names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdws.v2 import (
    DwsClient,
    ListClusterDetailsRequest,
    ListClustersRequest,
    SwitchOverClusterRequest,
)
from sim_helpers import AK, PROJECT, SK, UUID_A, UUID_B

from controller.clock import ManualClock
from controller.model import SWITCHOVER_TASK
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(sim: Simulator) -> Iterator[BackgroundServer]:
    # The SDK stamps X-Sdk-Date from the real clock, so the gateway checks it against real time.
    sim.set(
        "alpha",
        version="8.2.1.230",
        maintain_window={"day": "Sat", "start_time": "23:00", "end_time": "01:30"},
    )
    sim.start_task("beta", "SNAPSHOTTING", seconds=100)
    with BackgroundServer(sim) as running:
        yield running


def sdk(url: str, sk: str = SK) -> DwsClient:
    return (
        DwsClient.new_builder()
        .with_credentials(BasicCredentials(AK, sk, PROJECT))
        .with_endpoints([url])
        .build()
    )


def test_list_clusters_parses_into_sdk_models(server: BackgroundServer) -> None:
    response = sdk(server.url).list_clusters(ListClustersRequest())
    assert response.count == 2
    alpha, beta = response.clusters
    assert (alpha.id, alpha.name, alpha.version, alpha.sub_status) == (
        UUID_A, "alpha", "8.2.1.230", "UNBALANCED",
    )  # fmt: skip
    assert [(t.key, t.value) for t in alpha.tags] == [("team", "a")]
    assert alpha.task_status is None  # idle, key absent
    assert (beta.id, beta.task_status, beta.tags) == (UUID_B, "SNAPSHOTTING", None)
    assert beta.action_progress == {"SNAPSHOTTING": "0%"}
    assert len(alpha.nodes) == alpha.number_of_node
    assert alpha.endpoints[0].connect_info.endswith(":8000")


@pytest.mark.parametrize(
    ("query", "names"), [("all_granted_eps", ["alpha", "beta"]), ("ep-1", ["beta"])]
)
def test_list_with_enterprise_project_query(
    server: BackgroundServer, query: str, names: list[str]
) -> None:
    response = sdk(server.url).list_clusters(ListClustersRequest(enterprise_project_id=query))
    assert [c.name for c in response.clusters] == names


def test_detail_carries_maintain_window(server: BackgroundServer) -> None:
    cluster = (
        sdk(server.url).list_cluster_details(ListClusterDetailsRequest(cluster_id=UUID_A)).cluster
    )
    window = cluster.maintain_window
    assert (window.day, window.start_time, window.end_time) == ("Sat", "23:00", "01:30")
    assert (cluster.name, cluster.sub_status, cluster.version) == (
        "alpha",
        "UNBALANCED",
        "8.2.1.230",
    )
    assert cluster.task_status == ""


def test_switchover_then_the_cluster_shows_it(
    server: BackgroundServer, sim: Simulator, clock: ManualClock
) -> None:
    client = sdk(server.url)
    accepted = client.switch_over_cluster(SwitchOverClusterRequest(cluster_id=UUID_A))
    assert accepted.status_code == 200
    clock.advance(5)
    cluster = client.list_cluster_details(ListClusterDetailsRequest(cluster_id=UUID_A)).cluster
    assert cluster.task_status == SWITCHOVER_TASK
    assert cluster.action_progress == {SWITCHOVER_TASK: "25%"}
    assert [p.cluster_id for p in sim.switchovers] == [UUID_A]


def test_refused_switchover_reaches_the_sdk_as_dws_0112(server: BackgroundServer) -> None:
    with pytest.raises(ClientRequestException) as caught:
        sdk(server.url).switch_over_cluster(SwitchOverClusterRequest(cluster_id=UUID_B))
    assert (caught.value.status_code, caught.value.error_code) == (400, "DWS.0112")
    assert caught.value.request_id


def test_wrong_sk_is_refused_with_401(server: BackgroundServer, sim: Simulator) -> None:
    with pytest.raises(ClientRequestException) as caught:
        sdk(server.url, sk="not-the-sk").list_clusters(ListClustersRequest())
    assert (caught.value.status_code, caught.value.error_code) == (401, "APIGW.0301")
    assert sim.counts == {"unauthorized": 1}
