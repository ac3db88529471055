"""IAM's OIDC federation: an ID token for a token (`/v3.0/OS-AUTH/id-token/tokens`), a token for keys.

The ID token is verified as IAM does, against the identity provider the scenario describes
(issuer, audience, expiry, RS256 signature by a key of its JWKS). The token answered is
unscoped (only good for `/v3.0/OS-CREDENTIAL/securitytokens`) unless the scenario says
`scoped: true`, in which case DWS accepts it directly.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from controller.simulator.auth import Request
from controller.simulator.faults import Reply
from controller.simulator.identity import TIME_FORMAT, FederationSpec
from controller.simulator.jwks import InvalidJwt, verify
from controller.simulator.world import Simulator

ID_TOKEN_PATH = "/v3.0/OS-AUTH/id-token/tokens"  # noqa: S105 - a path, not a secret
SECURITY_TOKEN_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"  # noqa: S105
MIN_DURATION, MAX_DURATION = 900, 86400  # IAM's bounds for duration_seconds


def _error(status: int, message: str) -> Reply:
    body = {"error": {"code": status, "title": _TITLES.get(status, "Error"), "message": message}}
    return Reply(status, json.dumps(body).encode(), (("Content-Type", "application/json"),))


_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body)
    except ValueError:
        return {}
    auth = data.get("auth") if isinstance(data, dict) else None
    return auth if isinstance(auth, dict) else {}


def id_token(sim: Simulator, request: Request) -> Reply:
    """`POST /v3.0/OS-AUTH/id-token/tokens`: verify the ID token, answer a token."""
    spec = sim.identity.spec.federation
    if spec is None:
        return _error(404, "No identity provider is configured.")
    if request.headers.get("x-idp-id") != spec.idp_id:
        return _error(404, "The identity provider in X-Idp-Id was not found.")
    jwt = _body(request).get("id_token", {})
    jwt = jwt.get("id") if isinstance(jwt, dict) else None
    if not isinstance(jwt, str) or not jwt:
        return _error(400, "The request body has no auth.id_token.id.")
    try:
        claims = verify(
            jwt, spec.jwks.get("keys", []), issuer=spec.issuer, audience=spec.audience, now=sim.now
        )
    except InvalidJwt as exc:
        return _error(401, f"The ID token is not accepted: {exc}.")
    sim.identity.subjects.append(str(claims.get("sub", "")))
    return _issue(sim, spec)


def _issue(sim: Simulator, spec: FederationSpec) -> Reply:
    now = sim.now
    token, expires = "MIIfed" + secrets.token_urlsafe(48), now + spec.token_ttl
    body: dict[str, Any] = {
        "methods": ["mapped"],
        "issued_at": now.strftime(TIME_FORMAT),
        "expires_at": expires.strftime(TIME_FORMAT),
        "user": {"id": "sim-federated-user", "name": "FederationUser", "OS-FEDERATION": {}},
    }
    if spec.scoped:  # a project-scoped token: DWS accepts it like a password login's
        sim.tokens[token] = expires
        body["project"] = {"id": sim.project_id, "name": "sim-region-1"}
    else:
        sim.identity.unscoped_tokens[token] = expires
    headers = (("Content-Type", "application/json"), ("X-Subject-Token", token))
    return Reply(201, json.dumps({"token": body}).encode(), headers)


def security_tokens(sim: Simulator, request: Request) -> Reply:
    """`POST /v3.0/OS-CREDENTIAL/securitytokens` with a token: temporary keys."""
    state, now = sim.identity, sim.now
    identity = _body(request).get("identity", {})
    identity = identity if isinstance(identity, dict) else {}
    token = identity.get("token", {})
    token = token if isinstance(token, dict) else {}
    if "token" not in identity.get("methods", []) or not isinstance(token.get("id"), str):
        return _error(400, "The request body is not a token identity.")
    expiry = state.unscoped_tokens.get(token["id"]) or sim.tokens.get(token["id"])
    if expiry is None or expiry <= now:
        return _error(401, "The token is invalid or has expired.")
    duration = token.get("duration_seconds", MAX_DURATION)
    if not isinstance(duration, int) or not MIN_DURATION <= duration <= MAX_DURATION:
        return _error(400, f"duration_seconds must be {MIN_DURATION} to {MAX_DURATION}.")
    spec = state.spec.federation
    cap = spec.max_duration if spec is not None else dt.timedelta(seconds=MAX_DURATION)
    ttl = min(dt.timedelta(seconds=duration), cap)
    keys = state.issue_keys("federation", now, ttl)
    body = json.dumps({"credential": keys}).encode()
    return Reply(201, body, (("Content-Type", "application/json"),))


#: (method, path, operation) of each endpoint, and the function answering it.
ROUTES = (
    ("POST", ID_TOKEN_PATH, "iam_id_token", id_token),
    ("POST", SECURITY_TOKEN_PATH, "iam_securitytoken", security_tokens),
)
