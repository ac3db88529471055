"""One emulated region holds several projects behind one listener, and several regions are several
listeners in one process; the vendor's own SDK (huaweicloudsdkdws) lists each project apart."""

from __future__ import annotations

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdws.v2 import DwsClient, ListClustersRequest, SwitchOverClusterRequest

from controller.clock import SystemClock
from controller.simulator.region import Region
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

AK, SK = "REGIONAK000000000001", "region-secret-key"


def project(project_id: str, *names: str) -> Simulator:
    sim = Simulator(SystemClock(), project_id=project_id, ak=AK, sk=SK)
    for name in names:
        sim.add_cluster(id=f"{project_id}-{name}", name=name, flags={"UNBALANCED"})
    return sim


def sdk(url: str, project_id: str) -> DwsClient:
    credentials = BasicCredentials(AK, SK, project_id)
    return DwsClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()


def names(url: str, project_id: str) -> list[str]:
    return sorted(
        c.name for c in sdk(url, project_id).list_clusters(ListClustersRequest()).clusters
    )


def test_each_project_of_each_region_answers_for_itself() -> None:
    bj_a, bj_b = project("p-bj-a", "sales", "etl"), project("p-bj-b", "risk")
    sh = project("p-sh", "sales")
    with (
        BackgroundServer(Region("cn-north-4", [bj_a, bj_b])) as beijing,
        BackgroundServer(Region("cn-east-3", [sh])) as shanghai,
    ):
        assert beijing.url != shanghai.url
        assert names(beijing.url, "p-bj-a") == ["etl", "sales"]
        assert names(beijing.url, "p-bj-b") == ["risk"]
        assert names(shanghai.url, "p-sh") == ["sales"]
        request = SwitchOverClusterRequest(cluster_id="p-bj-b-risk")
        sdk(beijing.url, "p-bj-b").switch_over_cluster(request)
    assert [p.cluster_id for p in bj_b.switchovers] == ["p-bj-b-risk"]
    assert (bj_a.switchovers, sh.switchovers) == ([], [])
    assert (bj_a.counts["list_clusters"], bj_b.counts["list_clusters"]) == (1, 1)


def test_a_project_the_region_does_not_hold_is_refused() -> None:
    with (
        BackgroundServer(Region("cn-north-4", [project("p-1", "sales")])) as region,
        pytest.raises(ClientRequestException) as refused,
    ):
        sdk(region.url, "p-elsewhere").list_clusters(ListClustersRequest())
    assert refused.value.status_code in (401, 403)


def test_a_region_needs_distinct_projects() -> None:
    with pytest.raises(ValueError, match="a project id appears twice"):
        Region("r", [project("p", "a"), project("p", "b")])
    with pytest.raises(ValueError, match="at least one project"):
        Region("r", [])
