"""Fault injection: the injector's bookkeeping, and each kind as an in-process client sees it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sim_helpers import UUID_A, Signer, clusters_url

from controller.model import SWITCHOVER_TASK
from controller.simulator.faults import FaultInjector
from controller.simulator.world import Simulator


def test_faults_are_consumed_in_order_and_by_operation() -> None:
    faults = FaultInjector()
    faults.inject("get_cluster", "empty", times=2)
    faults.inject("*", "reset")
    assert faults.take("list_clusters").kind == "reset"  # type: ignore[union-attr]
    assert [faults.take("get_cluster").kind for _ in range(2)] == ["empty", "empty"]  # type: ignore[union-attr]
    assert faults.take("get_cluster") is None
    assert faults.pending == []


def test_unlimited_fault_lasts_until_cleared() -> None:
    faults = FaultInjector()
    faults.inject("switchover", "status", times=None, status=503)
    assert all(faults.take("switchover") is not None for _ in range(5))
    faults.clear()
    assert faults.take("switchover") is None


@pytest.mark.parametrize(
    ("operation", "kind", "params", "message"),
    [
        ("delete_cluster", "empty", {}, "unknown fault operation"),
        ("list_clusters", "explode", {}, "unknown fault kind"),
        ("list_clusters", "status", {}, "needs a status code"),
        ("list_clusters", "status", {"status": 999}, "HTTP status code"),
        ("list_clusters", "latency", {"colour": "red"}, "takes no parameter"),
        ("list_clusters", "lost_response", {}, "only applies to the switchover"),
        ("switchover", "lost_response", {"mode": "maybe"}, "mode must be"),
        ("list_clusters", "alt_error", {"shape": "xml"}, "shape must be"),
        ("list_clusters", "latency", {"seconds": -1}, "seconds must be >= 0"),
    ],
)
def test_bad_fault_plans_are_rejected(
    operation: str, kind: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FaultInjector().inject(operation, kind, **params)


def test_zero_times_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FaultInjector().inject("list_clusters", "reset", times=0)


def _json(response: httpx.Response) -> Any:
    return response.json()


@pytest.mark.parametrize(
    ("kind", "params", "status", "content_type", "check"),
    [
        ("status", {"status": 500}, 500, "application/json", lambda r: _json(r)["error_code"]),
        ("status", {"status": 403, "body": {"error_code": "DWS.0015", "error_msg": "no"}}, 403,
         "application/json", lambda r: _json(r) == {"error_code": "DWS.0015", "error_msg": "no"}),
        ("status", {"status": 502, "body": "Bad gateway"}, 502, "text/plain", lambda r: r.text == "Bad gateway"),
        ("html_503", {}, 503, "text/html", lambda r: "<center>nginx</center>" in r.text),
        ("throttle", {"retry_after": 7}, 429, "application/json",
         lambda r: r.headers["Retry-After"] == "7" and _json(r)["error_code"] == "APIGW.0308"),
        ("empty", {"status": 502}, 502, "application/json", lambda r: r.content == b""),
        ("malformed", {}, 200, "application/json", lambda r: r.content.startswith(b'{"clusters": [')),
        ("wrong_shape", {}, 200, "application/json", lambda r: _json(r)["clusters"] == "oops"),
        ("alt_error", {"status": 400, "code": "E1", "message": "m"}, 400, "application/json",
         lambda r: _json(r) == {"code": "E1", "message": "m"}),
        ("alt_error", {"shape": "camel"}, 500, "application/json",
         lambda r: set(_json(r)) == {"errorCode", "errorMsg"}),
        ("status", {"status": 503, "headers": {"X-Extra": "1"}}, 503, "application/json",
         lambda r: r.headers["X-Extra"] == "1"),
    ],
)  # fmt: skip
async def test_canned_faults(
    client: httpx.AsyncClient,
    signed: Signer,
    sim: Simulator,
    kind: str,
    params: dict[str, Any],
    status: int,
    content_type: str,
    check: Any,
) -> None:
    sim.faults.inject("list_clusters", kind, **params)
    url = clusters_url()
    response = await client.get(url, headers=signed("GET", url))
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(content_type)
    assert "X-Request-Id" in response.headers
    assert check(response)
    if kind == "malformed":
        with pytest.raises(json.JSONDecodeError):
            response.json()
    normal = await client.get(url, headers=signed("GET", url))
    assert normal.status_code == 200
    assert sim.counts["list_clusters"] == 2


async def test_canned_fault_on_switchover_leaves_the_world_alone(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("switchover", "status", status=503)
    url = clusters_url(f"/{UUID_A}/switchover")
    assert (await client.post(url, headers=signed("POST", url))).status_code == 503
    assert sim.cluster("alpha").task_status is None
    assert sim.switchovers == []


async def test_faults_only_hit_authenticated_requests(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.inject("list_clusters", "status", status=500)
    assert (await client.get(clusters_url())).status_code == 401
    assert len(sim.faults.pending) == 1


async def test_latency_then_normal_answer(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("list_clusters", "latency", seconds=0.01)
    url = clusters_url()
    response = await client.get(url, headers=signed("GET", url))
    assert response.json()["count"] == 2


async def test_latency_beyond_the_read_timeout_is_a_read_timeout(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("list_clusters", "latency", seconds=30)
    url = clusters_url()
    with pytest.raises(httpx.ReadTimeout):
        await client.get(url, headers=signed("GET", url), timeout=0.05)


async def test_timeout_fault_is_a_read_timeout(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("get_cluster", "timeout")
    url = clusters_url(f"/{UUID_A}")
    with pytest.raises(httpx.ReadTimeout):
        await client.get(url, headers=signed("GET", url), timeout=0.05)
    assert sim.counts == {"get_cluster": 1}


async def test_timeout_fault_eventually_drops_the_connection(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("get_cluster", "timeout", seconds=0.01)
    url = clusters_url(f"/{UUID_A}")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(url, headers=signed("GET", url), timeout=5)


async def test_reset_fault_is_a_protocol_error(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("list_clusters", "reset")
    url = clusters_url()
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        await client.get(url, headers=signed("GET", url))


@pytest.mark.parametrize(
    ("params", "error"),
    [({}, httpx.RemoteProtocolError), ({"mode": "timeout"}, httpx.ReadTimeout)],
)
async def test_lost_response_applies_the_switchover(
    client: httpx.AsyncClient,
    signed: Signer,
    sim: Simulator,
    params: dict[str, Any],
    error: type[Exception],
) -> None:
    sim.faults.inject("switchover", "lost_response", **params)
    url = clusters_url(f"/{UUID_A}/switchover")
    with pytest.raises(error):
        await client.post(url, headers=signed("POST", url), timeout=0.05)
    assert sim.cluster("alpha").task_status == SWITCHOVER_TASK
    assert [p.cluster_id for p in sim.switchovers] == [UUID_A]
    detail_url = clusters_url(f"/{UUID_A}")
    detail = await client.get(detail_url, headers=signed("GET", detail_url))
    assert detail.json()["cluster"]["task_status"] == SWITCHOVER_TASK


async def test_wildcard_fault_hits_the_next_operation(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    sim.faults.inject("*", "status", status=500)
    url = clusters_url(f"/{UUID_A}")
    assert (await client.get(url, headers=signed("GET", url))).status_code == 500
    assert (await client.get(url, headers=signed("GET", url))).status_code == 200
