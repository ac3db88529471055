"""The emulated gateway's authentication: AK/SK signatures, IAM password tokens, project checks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sim_helpers import AK, PROJECT, SK, Signer, clusters_url, sign_headers

from controller.clock import ManualClock
from controller.simulator.auth import Issued, issue_token
from controller.simulator.world import Simulator

TOKENS_URL = "http://dws.sim.local/v3/auth/tokens"


def password_body(
    user: str = "alice", password: str = "alice-pw", domain: str = "acme", project: str = PROJECT
) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "password": password, "domain": {"name": domain}}
                },
            },
            "scope": {"project": {"id": project}},
        }
    }


async def test_good_signature_is_accepted(client: httpx.AsyncClient, signed: Signer) -> None:
    url = clusters_url("?enterprise_project_id=all_granted_eps")
    assert (await client.get(url, headers=signed("GET", url))).status_code == 200


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        ({"sk": "wrong-sk"}, "verify aksk signature fail"),
        ({"ak": "OTHERAK"}, "access key not found"),
        ({"when_offset": dt.timedelta(minutes=16)}, "more than 15 minutes"),
        ({"when_offset": -dt.timedelta(minutes=16)}, "more than 15 minutes"),
        ({"drop": "Authorization"}, "no Authorization signature"),
        ({"drop": "X-Sdk-Date"}, "X-Sdk-Date header missing"),
        ({"replace": ("Authorization", "Basic Zm9vOmJhcg==")}, "not an SDK-HMAC-SHA256"),
        ({"replace": ("X-Sdk-Date", "yesterday")}, "X-Sdk-Date is not"),
        ({"extra": {"X-Project-Id": "someone-else"}}, "X-Project-Id does not match"),
    ],
)
async def test_bad_credentials_get_gateway_401(
    client: httpx.AsyncClient,
    sim: Simulator,
    wall: ManualClock,
    tamper: dict[str, Any],
    detail: str,
) -> None:
    url = clusters_url()
    when = wall.now() + tamper.get("when_offset", dt.timedelta(0))
    headers = sign_headers(
        "GET",
        url,
        when=when,
        ak=tamper.get("ak", AK),
        sk=tamper.get("sk", SK),
        extra=tamper.get("extra"),
    )
    headers.pop(tamper.get("drop", ""), None)
    if "replace" in tamper:
        name, value = tamper["replace"]
        headers[name] = value
    response = await client.get(url, headers=headers)
    body = response.json()
    assert response.status_code == 401
    assert body["error_code"] == "APIGW.0301"
    assert body["error_msg"].startswith("Incorrect IAM authentication information: ")
    assert detail in body["error_msg"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert SK not in response.text
    assert sim.counts == {"unauthorized": 1}


async def test_signature_covers_query_and_body(client: httpx.AsyncClient, signed: Signer) -> None:
    signed_url = clusters_url("?enterprise_project_id=0")
    headers = signed("GET", signed_url)
    response = await client.get(clusters_url("?enterprise_project_id=ep-1"), headers=headers)
    assert response.status_code == 401
    switchover = clusters_url("/x/switchover")
    tampered = await client.post(switchover, headers=signed("POST", switchover), content=b"{}")
    assert tampered.status_code == 401


async def test_date_within_15_minutes_is_fine(
    client: httpx.AsyncClient, signed: Signer, wall: ManualClock
) -> None:
    url = clusters_url()
    headers = signed("GET", url, when=wall.now() - dt.timedelta(minutes=14))
    assert (await client.get(url, headers=headers)).status_code == 200


async def test_wrong_project_in_path_is_403(
    client: httpx.AsyncClient, signed: Signer, sim: Simulator
) -> None:
    url = clusters_url(project="ffffffffffffffffffffffffffffffff")
    response = await client.get(url, headers=signed("GET", url))
    assert response.status_code == 403
    assert response.json()["error_code"] == "APIGW.0302"
    assert sim.counts == {"unauthorized": 1}


async def issue(client: httpx.AsyncClient, **body: str) -> httpx.Response:
    return await client.post(TOKENS_URL, json=password_body(**body))


async def test_token_issued_and_accepted_until_it_expires(
    client: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    issued = await issue(client)
    assert issued.status_code == 201
    token = issued.headers["X-Subject-Token"]
    body = issued.json()["token"]
    assert body["project"]["id"] == PROJECT
    assert body["expires_at"] == "2026-03-05T21:00:00.000000Z"
    assert token not in issued.text
    headers = {"X-Auth-Token": token}
    assert (await client.get(clusters_url(), headers=headers)).status_code == 200
    clock.advance(dt.timedelta(hours=24))
    expired = await client.get(clusters_url(), headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["error_msg"]
    assert sim.counts == {"iam_token": 1, "list_clusters": 1, "unauthorized": 1}


def test_token_ttl_is_configurable(clock: ManualClock, sim: Simulator) -> None:
    sim.token_ttl = dt.timedelta(minutes=5)
    outcome = issue_token(sim, json.dumps(password_body()).encode())
    assert isinstance(outcome, Issued)
    assert sim.tokens[outcome.token] == clock.now() + dt.timedelta(minutes=5)


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(clusters_url(), headers={"X-Auth-Token": "MIIforged"})
    assert response.status_code == 401
    assert "MIIforged" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {"password": "wrong"},
        {"user": "mallory"},
        {"domain": "other"},
        {"project": "ffffffffffffffffffffffffffffffff"},
    ],
)
async def test_bad_password_login_is_401(
    client: httpx.AsyncClient, sim: Simulator, body: dict[str, str]
) -> None:
    response = await issue(client, **body)
    assert response.status_code == 401
    assert "X-Subject-Token" not in response.headers
    assert response.json()["error"]["code"] == 401
    assert "alice-pw" not in response.text
    assert sim.tokens == {}


@pytest.mark.parametrize("content", [b"not json", b"{}", b'{"auth": {"identity": {}}}', b"[]"])
async def test_malformed_login_is_400(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(TOKENS_URL, content=content)
    assert response.status_code == 400
    assert response.json()["error"]["title"] == "Bad Request"
