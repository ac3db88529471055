"""What the emulated API gateway and IAM check: AK/SK signatures, IAM tokens, the project in the path.

Messages name the problem but never echo a secret (SK, signature, token, password).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from controller.dws import signing
from controller.simulator.identity import check_temporary, temporary_refusal
from controller.simulator.world import Simulator

MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
AUTH_CODE = "APIGW.0301"
FORBIDDEN_CODE = "APIGW.0302"
_AUTH_PREFIX = "Incorrect IAM authentication information: "
_IAM_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request the emulator looks at; header names lower-case."""

    method: str
    path: str  # decoded, for routing
    raw_path: str  # as sent, for the signature
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Denied:
    status: int
    body: dict[str, Any]


def gateway_error(status: int, code: str, message: str) -> Denied:
    return Denied(status, {"error_code": code, "error_msg": message})


def _unauthorized(detail: str) -> Denied:
    return gateway_error(401, AUTH_CODE, _AUTH_PREFIX + detail)


def check_dws_request(
    sim: Simulator, request: Request, path_project: str, wall_now: dt.datetime
) -> Denied | None:
    """None if the request may proceed; else the gateway's 401 (who are you) or 403 (not yours)."""
    if "authorization" in request.headers:
        denied = _check_signature(sim, request, wall_now)
    elif "x-auth-token" in request.headers:
        denied = _check_token(sim, request.headers["x-auth-token"])
    else:
        denied = _unauthorized("no Authorization signature and no X-Auth-Token")
    if denied is not None:
        return denied
    header_project = request.headers.get("x-project-id")
    if header_project is not None and header_project != sim.project_id:
        return _unauthorized("X-Project-Id does not match the credentials' project")
    if path_project != sim.project_id:
        return gateway_error(
            403, FORBIDDEN_CODE, "The project ID in the URL is not the credentials' project"
        )
    return None


def _check_signature(sim: Simulator, request: Request, wall_now: dt.datetime) -> Denied | None:
    try:
        parsed = signing.parse_authorization(request.headers["authorization"])
    except ValueError as exc:
        return _unauthorized(str(exc))
    date_text = request.headers.get(signing.DATE_HEADER.lower())
    if date_text is None:
        return _unauthorized("X-Sdk-Date header missing")
    try:
        sdk_date = signing.parse_date(date_text)
    except ValueError:
        return _unauthorized("X-Sdk-Date is not YYYYMMDDTHHMMSSZ")
    if abs(sdk_date - wall_now) > MAX_CLOCK_SKEW:
        return _unauthorized("X-Sdk-Date is more than 15 minutes away from the server's time")
    sk = sim.sk if _same(parsed.ak, sim.ak) else _temporary_sk(sim, parsed.ak, request)
    if sk is None:
        security_token = request.headers.get("x-security-token")
        return _unauthorized(temporary_refusal(sim.identity, parsed.ak, security_token, sim.now))
    valid = signing.verify(
        sk=sk,
        parsed=parsed,
        method=request.method,
        raw_path=request.raw_path,
        params=request.query,
        headers=request.headers,
        body=request.body,
    )
    return None if valid else _unauthorized("verify aksk signature fail")


def _temporary_sk(sim: Simulator, ak: str, request: Request) -> str | None:
    """The SK of a current temporary key (metadata, federation, pod identity) shown with its token."""
    return check_temporary(sim.identity, ak, request.headers.get("x-security-token"), sim.now)


def _same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())


def _check_token(sim: Simulator, token: str) -> Denied | None:
    expiry = sim.tokens.get(token)
    if expiry is None:
        return _unauthorized("the token is not valid")
    if expiry <= sim.now:
        return _unauthorized("the token has expired")
    return None


def _keystone_error(status: int, title: str, message: str) -> Denied:
    return Denied(status, {"error": {"code": status, "title": title, "message": message}})


@dataclass(frozen=True)
class Issued:
    token: str
    body: dict[str, Any]


def issue_token(sim: Simulator, body: bytes) -> Issued | Denied:
    """IAM `POST /v3/auth/tokens` with password identity; the scope must be the sim's project."""
    try:
        auth = json.loads(body)["auth"]
        user = auth["identity"]["password"]["user"]
        name, password = str(user["name"]), str(user["password"])
        domain = str(user["domain"]["name"])
        if "password" not in auth["identity"]["methods"]:
            raise KeyError("methods")
        project = auth.get("scope", {}).get("project", {})
    except (ValueError, KeyError, TypeError, AttributeError):
        return _keystone_error(
            400, "Bad Request", "The request body is not a valid password authentication request."
        )
    known = sim.iam_users.get(name)
    if known is None or not (_same(known[0], password) and _same(known[1], domain)):
        return _keystone_error(401, "Unauthorized", "The username or password is wrong.")
    if project.get("id", sim.project_id) != sim.project_id:
        return _keystone_error(401, "Unauthorized", "The project in the scope was not found.")
    token = "MIIsim" + secrets.token_urlsafe(48)
    issued, expires = sim.now, sim.now + sim.token_ttl
    sim.tokens[token] = expires
    return Issued(token, _token_body(sim, name, domain, issued, expires))


def _token_body(
    sim: Simulator, user: str, domain: str, issued: dt.datetime, expires: dt.datetime
) -> dict[str, Any]:
    domain_ref = {"id": f"sim-domain-{domain}", "name": domain}
    return {
        "token": {
            "methods": ["password"],
            "issued_at": issued.strftime(_IAM_TIME_FORMAT),
            "expires_at": expires.strftime(_IAM_TIME_FORMAT),
            "user": {
                "id": f"sim-user-{user}",
                "name": user,
                "domain": domain_ref,
                "password_expires_at": "",
            },
            "project": {"id": sim.project_id, "name": "sim-region-1", "domain": domain_ref},
            "roles": [{"id": "0", "name": "te_admin"}],
            "catalog": [],
        }
    }
