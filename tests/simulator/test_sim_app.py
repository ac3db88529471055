"""The emulator's HTTP API in-process: routes, response shapes, switchover answers, counting."""

from __future__ import annotations

import httpx
import pytest
from sim_helpers import UUID_A, UUID_B, Signer, clusters_url

from controller.clock import ManualClock
from controller.model import SWITCHOVER_TASK
from controller.simulator.world import Simulator

LIST_FIELDS = {
    "id", "name", "status", "sub_status", "version", "updated", "created", "port", "endpoints",
    "public_endpoints", "nodes", "tags", "user_name", "number_of_node", "recent_event",
    "availability_zone", "enterprise_project_id", "node_type", "vpc_id", "subnet_id",
    "security_group_id", "public_ip", "action_progress",
}  # fmt: skip


async def get(client: httpx.AsyncClient, signed: Signer, url: str) -> httpx.Response:
    return await client.get(url, headers=signed("GET", url))


async def post(client: httpx.AsyncClient, signed: Signer, url: str) -> httpx.Response:
    return await client.post(url, headers=signed("POST", url))


async def test_list_returns_every_cluster_with_list_fields(
    client: httpx.AsyncClient, signed: Signer
) -> None:
    response = await get(client, signed, clusters_url())
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    alpha, beta = body["clusters"]
    assert set(alpha) >= LIST_FIELDS
    assert "maintain_window" not in alpha
    assert (alpha["id"], alpha["sub_status"], alpha["tags"]) == (
        UUID_A,
        "UNBALANCED",
        [{"key": "team", "value": "a"}],
    )
    assert (beta["name"], beta["sub_status"], beta["tags"]) == ("beta", "NORMAL", None)
    assert alpha["updated"] == "2026-03-04T21:00:00Z"
    assert len(alpha["nodes"]) == alpha["number_of_node"] == 3


async def test_idle_task_status_is_absent_or_empty_and_a_task_is_shown(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    first = (await get(client, signed, clusters_url())).json()["clusters"]
    assert "task_status" not in first[0]
    assert first[1]["task_status"] == ""
    sim.start_task("alpha", "SNAPSHOTTING")
    again = (await get(client, signed, clusters_url())).json()["clusters"]
    assert again[0]["task_status"] == "SNAPSHOTTING"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["alpha", "beta"]),
        ("?enterprise_project_id=all_granted_eps", ["alpha", "beta"]),
        ("?enterprise_project_id=ep-1", ["beta"]),
        ("?enterprise_project_id=0", ["alpha"]),
        ("?enterprise_project_id=nope", []),
    ],
)
async def test_list_filters_by_enterprise_project(
    client: httpx.AsyncClient, signed: Signer, query: str, names: list[str]
) -> None:
    body = (await get(client, signed, clusters_url(query))).json()
    assert [c["name"] for c in body["clusters"]] == names
    assert body["count"] == len(names)


async def test_detail_has_maintain_window(client: httpx.AsyncClient, signed: Signer) -> None:
    response = await get(client, signed, clusters_url(f"/{UUID_A}"))
    cluster = response.json()["cluster"]
    assert cluster["maintain_window"] == {"day": "Wed", "start_time": "22:00", "end_time": "02:00"}
    assert cluster["task_status"] == ""
    assert cluster["id"] == UUID_A


async def test_switchover_accepted_then_visible_then_refused(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator, clock: ManualClock
) -> None:
    accepted = await post(client, signed, clusters_url(f"/{UUID_A}/switchover"))
    assert (accepted.status_code, accepted.json()) == (200, {})
    clock.advance(10)
    detail = (await get(client, signed, clusters_url(f"/{UUID_A}"))).json()["cluster"]
    assert detail["task_status"] == SWITCHOVER_TASK
    assert detail["action_progress"] == {SWITCHOVER_TASK: "50%"}
    again = await post(client, signed, clusters_url(f"/{UUID_A}/switchover"))
    assert again.status_code == 400
    assert again.json()["error_code"] == "DWS.0112"
    clock.advance(10)
    listed = (await get(client, signed, clusters_url())).json()["clusters"][0]
    assert (listed["sub_status"], listed.get("task_status")) == ("NORMAL", None)
    assert len(sim.switchovers) == 1


async def test_switchover_on_a_normal_cluster_is_dws_0112(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    response = await post(client, signed, clusters_url(f"/{UUID_B}/switchover"))
    body = response.json()
    assert (response.status_code, body["error_code"]) == (400, "DWS.0112")
    assert "not unbalanced" in body["error_msg"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert sim.switchovers == []


@pytest.mark.parametrize(
    ("cluster_id", "status", "code"),
    [
        ("00000000-0000-4000-8000-000000000000", 404, "DWS.0047"),
        ("not-a-uuid", 400, "DWS.0001"),
    ],
)
@pytest.mark.parametrize("suffix", ["", "/switchover"])
async def test_unknown_cluster(
    client: httpx.AsyncClient,
    signed: Signer,
    sim: Simulator,
    cluster_id: str,
    status: int,
    code: str,
    suffix: str,
) -> None:
    url = clusters_url(f"/{cluster_id}{suffix}")
    response = await (post if suffix else get)(client, signed, url)
    assert (response.status_code, response.json()["error_code"]) == (status, code)
    assert sim.counts == {"not_found": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/whatever"),
        ("DELETE", "/v1.0/{project}/clusters/x"),
        ("GET", "/v1.0/{project}/clusters/x/switchover"),
    ],
)
async def test_unknown_route_is_gateway_404(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator, method: str, path: str
) -> None:
    url = "http://dws.sim.local" + path.format(project=sim.project_id)
    response = await client.request(method, url, headers=signed(method, url))
    assert response.status_code == 404
    assert response.json()["error_code"] == "APIGW.0101"
    assert response.json()["request_id"] == response.headers["X-Request-Id"]
    assert sim.counts == {"not_found": 1}


async def test_every_response_has_a_distinct_request_id(
    client: httpx.AsyncClient, signed: Signer
) -> None:
    ids = {(await get(client, signed, clusters_url())).headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


async def test_requests_are_counted_by_operation(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    await get(client, signed, clusters_url())
    await get(client, signed, clusters_url())
    await get(client, signed, clusters_url(f"/{UUID_A}"))
    await post(client, signed, clusters_url(f"/{UUID_B}/switchover"))  # refused: still counted
    await post(client, signed, clusters_url(f"/{UUID_A}/switchover"))
    await client.get(clusters_url())  # unsigned
    assert sim.counts == {
        "list_clusters": 2,
        "get_cluster": 1,
        "switchover": 2,
        "unauthorized": 1,
    }


async def test_each_request_first_catches_up_with_timed_events(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator, clock: ManualClock
) -> None:
    sim.at(60, ("unbalance", "beta"))
    clock.advance(59)
    before = (await get(client, signed, clusters_url())).json()["clusters"][1]
    clock.advance(1)
    after = (await get(client, signed, clusters_url())).json()["clusters"][1]
    assert (before["sub_status"], after["sub_status"]) == ("NORMAL", "UNBALANCED")
    assert after["updated"] == "2026-03-04T21:01:00Z"
