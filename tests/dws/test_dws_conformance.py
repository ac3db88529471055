"""The SDK conformance scenario over a real socket, run by the vendor SDK and by our client alike.

The same world as tests/simulator/test_conformance_sdk.py: list (tags, an idle and a busy
cluster, the enterprise-project filter), detail with maintain_window, a switchover that the
cluster then shows, a switchover refused with DWS.0112, and a wrong SK refused with 401.
Both clients must observe exactly the same things.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dwskit import AK, BALANCED, PROJECT, SK, UNBALANCED, aksk
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdws.v2 import DwsClient as SdkClient
from huaweicloudsdkdws.v2 import (
    ListClusterDetailsRequest,
    ListClustersRequest,
    SwitchOverClusterRequest,
)

from controller.dws.client import DwsClient
from controller.dws.errors import AuthenticationError, BadRequestError
from controller.model import SWITCHOVER_TASK
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

EXPECTED: dict[str, Any] = {
    "listed": [
        (UNBALANCED, "dws-a", "UNBALANCED", None, {"team": "a"}),
        (BALANCED, "dws-b", "NORMAL", "SNAPSHOTTING", {}),
    ],
    "in_ep_1": [BALANCED],
    "window": ("Sat", "23:00", "01:30"),
    "accepted": True,
    "task_after": SWITCHOVER_TASK,
    "refused_busy": (400, "DWS.0112"),
    "wrong_sk": (401, "APIGW.0301"),
}


@pytest.fixture
def scenario(sim: Simulator) -> Iterator[BackgroundServer]:
    sim.set(UNBALANCED, maintain_window={"day": "Sat", "start_time": "23:00", "end_time": "01:30"})
    sim.set(BALANCED, enterprise_project_id="ep-1")
    sim.start_task(BALANCED, "SNAPSHOTTING", seconds=100)
    with BackgroundServer(sim) as running:
        yield running


def _sdk(url: str, sk: str = SK) -> Any:
    credentials = BasicCredentials(AK, sk, PROJECT)
    return SdkClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()


def test_vendor_sdk(scenario: BackgroundServer, sim: Simulator) -> None:
    sdk = _sdk(scenario.url)
    listed = sdk.list_clusters(ListClustersRequest()).clusters
    in_ep_1 = sdk.list_clusters(ListClustersRequest(enterprise_project_id="ep-1")).clusters
    detail = sdk.list_cluster_details(ListClusterDetailsRequest(cluster_id=UNBALANCED)).cluster
    window = detail.maintain_window
    accepted = sdk.switch_over_cluster(SwitchOverClusterRequest(cluster_id=UNBALANCED))
    after = sdk.list_cluster_details(ListClusterDetailsRequest(cluster_id=UNBALANCED)).cluster
    with pytest.raises(ClientRequestException) as busy:
        sdk.switch_over_cluster(SwitchOverClusterRequest(cluster_id=BALANCED))
    with pytest.raises(ClientRequestException) as wrong:
        _sdk(scenario.url, sk="wrong-sk").list_clusters(ListClustersRequest())
    assert {
        "listed": [
            (c.id, c.name, c.sub_status, c.task_status, {t.key: t.value for t in c.tags or []})
            for c in listed
        ],
        "in_ep_1": [c.id for c in in_ep_1],
        "window": (window.day, window.start_time, window.end_time),
        "accepted": accepted.status_code == 200,
        "task_after": after.task_status,
        "refused_busy": (busy.value.status_code, busy.value.error_code),
        "wrong_sk": (wrong.value.status_code, wrong.value.error_code),
    } == EXPECTED
    assert len(sim.switchovers) == 1


async def test_our_client(scenario: BackgroundServer, sim: Simulator) -> None:
    async with DwsClient(endpoint=scenario.url, project_id=PROJECT, auth=aksk()) as client:
        listed = await client.list_clusters()
        in_ep_1 = await client.list_clusters("ep-1")
        window = (await client.get_cluster(UNBALANCED)).maintain_window
        ack = await client.switchover(UNBALANCED)
        after = await client.get_cluster(UNBALANCED)
        with pytest.raises(BadRequestError) as busy:
            await client.switchover(BALANCED)
    async with DwsClient(
        endpoint=scenario.url, project_id=PROJECT, auth=aksk(sk="wrong-sk")
    ) as bad:
        with pytest.raises(AuthenticationError) as wrong:
            await bad.list_clusters()
    assert window is not None
    assert {
        "listed": [
            (c.id, c.name, " | ".join(sorted(c.sub_status)), c.task_status, dict(c.tags))
            for c in listed
        ],
        "in_ep_1": [c.id for c in in_ep_1],
        "window": (window.day, window.start.strftime("%H:%M"), window.end.strftime("%H:%M")),
        "accepted": ack.accepted,
        "task_after": after.task_status,
        "refused_busy": (busy.value.status, busy.value.error_code),
        "wrong_sk": (wrong.value.status, wrong.value.error_code),
    } == EXPECTED
    assert after.switching
    assert busy.value.state_conflict
    assert len(sim.switchovers) == 1
