"""The emulator's credential endpoints: metadata service, IAM federation (JWT checks), pod identity, scenario files."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sim_helpers import START

from controller.clock import ManualClock
from controller.simulator.identity import IdentitySpec
from controller.simulator.jwks import InvalidJwt, rs256_valid, verify
from controller.simulator.scenario import ScenarioError, load_scenario
from controller.simulator.world import Simulator

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key: rsa.RSAPrivateKey, kid: str = "k1") -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": _b64_int(numbers.n), "e": _b64_int(numbers.e)}


def _b64_int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def jwt(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str = "k1") -> str:
    head = b64(json.dumps({"alg": "RS256", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(signature)}"


def claims(**extra: Any) -> dict[str, Any]:
    stamp = int(START.timestamp())
    return {"iss": "https://issuer", "aud": "aud-1", "sub": "sa", "exp": stamp + 600, **extra}


def test_rs256_matches_the_cryptography_library() -> None:
    message = b"header.payload"
    signature = KEY.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert rs256_valid(message, signature, jwk(KEY))
    assert not rs256_valid(message + b"x", signature, jwk(KEY))
    assert not rs256_valid(message, signature, jwk(OTHER))
    assert not rs256_valid(message, signature[:-1], jwk(KEY))
    pss = KEY.sign(message, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    assert not rs256_valid(message, pss, jwk(KEY))  # another padding is another algorithm


@pytest.mark.parametrize(
    ("token_claims", "message"),
    [
        (claims(), None),
        (claims(aud=["x", "aud-1"]), None),
        (claims(aud="aud-2"), "audience 'aud-2' does not include 'aud-1'"),
        (claims(iss="https://other"), "issuer 'https://other' is not 'https://issuer'"),
        (claims(exp=int(START.timestamp())), "has expired"),
        (claims(nbf=int(START.timestamp()) + 1), "not valid yet"),
        ({k: v for k, v in claims().items() if k != "exp"}, "has expired (or has no exp)"),
    ],
)
def test_claims(token_claims: dict[str, Any], message: str | None) -> None:
    token = jwt(KEY, token_claims)

    def check() -> dict[str, Any]:
        return verify(token, [jwk(KEY)], issuer="https://issuer", audience="aud-1", now=START)

    if message is None:
        assert check()["sub"] == "sa"
        return
    with pytest.raises(InvalidJwt) as info:
        check()
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("a.b", "not a JWT"),
        ("!!!.e30.sig", "not base64url"),
        (f"{b64(b'[1]')}.e30.sig", "header is not a JSON object"),
        (
            f"{b64(json.dumps({'alg': 'HS256'}).encode())}.e30.c2ln",
            "algorithm 'HS256' is not RS256",
        ),
    ],
)
def test_malformed_tokens(token: str, message: str) -> None:
    with pytest.raises(InvalidJwt, match=message):
        verify(token, [jwk(KEY)], issuer="https://issuer", audience="aud-1", now=START)


@pytest.fixture
def with_identity(sim: Simulator) -> Simulator:
    sim.identity.spec = IdentitySpec.model_validate(
        {
            "metadata": {"key_ttl": "30m"},
            "federation": {
                "idp_id": "idp",
                "issuer": "https://issuer",
                "audience": "aud-1",
                "jwks": {"keys": [jwk(KEY)]},
                "max_duration": "2h",
            },
            "pod_identity": {"token": "pod-token"},
        }
    )
    return sim


@pytest.mark.parametrize(
    ("ttl", "status"), [(None, 400), ("0", 400), ("21601", 400), ("x", 400), ("21600", 200)]
)
async def test_session_token_ttl(
    with_identity: Simulator, client: httpx.AsyncClient, ttl: str | None, status: int
) -> None:
    headers = {} if ttl is None else {"X-Metadata-Token-Ttl-Seconds": ttl}
    response = await client.put("/meta-data/latest/api/token", headers=headers)
    assert response.status_code == status


async def test_security_key_needs_a_live_session_token(
    with_identity: Simulator, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert (await client.get("/openstack/latest/securitykey")).status_code == 401
    put = await client.put(
        "/meta-data/latest/api/token", headers={"X-Metadata-Token-Ttl-Seconds": "60"}
    )
    headers = {"X-Metadata-Token": put.text}
    answer = await client.get("/openstack/latest/securitykey", headers=headers)
    credential = answer.json()["credential"]
    assert set(credential) == {"access", "secret", "securitytoken", "expires_at"}
    assert credential["expires_at"] == (START + dt.timedelta(minutes=30)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    clock.advance(61)
    assert (await client.get("/openstack/latest/securitykey", headers=headers)).status_code == 401
    assert with_identity.counts["metadata_securitykey"] == 3


async def _unscoped(client: httpx.AsyncClient) -> str:
    body = {"auth": {"id_token": {"id": jwt(KEY, claims())}}}
    answer = await client.post(
        "/v3.0/OS-AUTH/id-token/tokens", json=body, headers={"X-Idp-Id": "idp"}
    )
    assert answer.status_code == 201
    assert "project" not in answer.json()["token"]
    return answer.headers["X-Subject-Token"]


@pytest.mark.parametrize(
    ("duration", "status", "lifetime"),
    [
        (900, 201, dt.timedelta(minutes=15)),
        (86400, 201, dt.timedelta(hours=2)),
        (899, 400, None),
        (86401, 400, None),
        ("1h", 400, None),
    ],
)
async def test_security_tokens_duration(
    with_identity: Simulator,
    client: httpx.AsyncClient,
    duration: object,
    status: int,
    lifetime: dt.timedelta | None,
) -> None:
    token = await _unscoped(client)
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token, "duration_seconds": duration}}
        }
    }
    answer = await client.post("/v3.0/OS-CREDENTIAL/securitytokens", json=body)
    assert answer.status_code == status
    if lifetime is not None:
        ak = answer.json()["credential"]["access"]
        assert with_identity.identity.keys[ak].expires == START + lifetime


@pytest.mark.parametrize(
    "body",
    [
        {"auth": {"identity": {"methods": ["token"], "token": {"id": "unknown"}}}},
        {"auth": {"identity": {"methods": ["password"], "token": {"id": "x"}}}},
        {"auth": []},
    ],
)
async def test_security_tokens_refuses_what_is_not_a_live_token(
    with_identity: Simulator, client: httpx.AsyncClient, body: object
) -> None:
    answer = await client.post("/v3.0/OS-CREDENTIAL/securitytokens", json=body)
    assert answer.status_code in (400, 401)
    assert not with_identity.identity.keys


async def test_an_unscoped_token_is_no_good_for_dws(
    with_identity: Simulator, client: httpx.AsyncClient
) -> None:
    token = await _unscoped(client)
    listed = await client.get(
        f"/v1.0/{with_identity.project_id}/clusters", headers={"X-Auth-Token": token}
    )
    assert listed.status_code == 401


async def test_credential_endpoints_are_absent_unless_the_scenario_has_them(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    answers = [
        await client.put(
            "/meta-data/latest/api/token", headers={"X-Metadata-Token-Ttl-Seconds": "60"}
        ),
        await client.get("/openstack/latest/securitykey"),
        await client.post("/v3.0/OS-AUTH/id-token/tokens", json={}),
        await client.post("/v1/pod-identity/credentials", json={}),
    ]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]


def test_a_scenario_file_with_identity_sources(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    spec = {
        "identity": {
            "metadata": {"key_ttl": "20m"},
            "federation": {
                "idp_id": "idp",
                "issuer": "https://i",
                "audience": "a",
                "jwks": {"keys": [jwk(KEY)]},
            },
            "pod_identity": {"token": "t"},
        }
    }
    path.write_text(json.dumps(spec))  # JSON is YAML
    sim = load_scenario(path).build(ManualClock(START))
    assert sim.identity.spec.metadata is not None
    assert sim.identity.spec.metadata.key_ttl == dt.timedelta(minutes=20)
    assert sim.identity.spec.federation is not None


def test_a_bad_identity_section_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("identity: {federation: {idp_id: x}}\n")
    with pytest.raises(ScenarioError, match=r"identity\.federation\.issuer: Field required"):
        load_scenario(path)
