"""The node's credential endpoints: the ECS metadata service (securitykey) and CCE pod identity.

Metadata: `PUT /meta-data/latest/api/token` with `X-Metadata-Token-Ttl-Seconds` (1 to 21600)
answers a session token; `GET /openstack/latest/securitykey` with it as `X-Metadata-Token`
answers the agency's temporary keys. Pod identity: `POST` with the pod's token as
`Authorization` answers keys too. Both are 404 unless the scenario has them.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from controller.simulator.auth import Request
from controller.simulator.faults import Reply
from controller.simulator.world import Simulator

TOKEN_PATH = "/meta-data/latest/api/token"  # noqa: S105 - a path, not a secret
SECURITY_KEY_PATH = "/openstack/latest/securitykey"
POD_IDENTITY_PATH = "/v1/pod-identity/credentials"
MAX_SESSION_TTL = 21600
NO_AGENCY = "Please configure Cloud Service Agency first"


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode(), (("Content-Type", "application/json"),))


def _text(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), (("Content-Type", "text/plain"),))


def session_token(sim: Simulator, request: Request) -> Reply:
    """`PUT /meta-data/latest/api/token`: a session token for the TTL asked."""
    state, now = sim.identity, sim.now
    if state.spec.metadata is None or not state.spec.metadata.token_api:
        return _text(404, "Not Found")
    ttl = request.headers.get("x-metadata-token-ttl-seconds", "")
    if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_SESSION_TTL:
        return _text(400, f"X-Metadata-Token-Ttl-Seconds must be 1 to {MAX_SESSION_TTL}")
    token = "simmd-" + secrets.token_urlsafe(32)
    state.metadata_tokens[token] = now + dt.timedelta(seconds=int(ttl))
    return _text(200, token)


def security_key(sim: Simulator, request: Request) -> Reply:
    """`GET /openstack/latest/securitykey`: the agency's temporary keys."""
    state, now = sim.identity, sim.now
    spec = state.spec.metadata
    if spec is None:
        return _text(404, "Not Found")
    token = request.headers.get("x-metadata-token")
    if token is not None:
        expiry = state.metadata_tokens.get(token)
        if expiry is None or expiry <= now:
            return _text(401, "Unauthorized: the metadata token is invalid or has expired")
    elif spec.require_token:
        return _text(401, "Unauthorized: an X-Metadata-Token header is required")
    if not spec.agency:
        return _json(401, {"error": {"message": NO_AGENCY}})
    return _json(200, {"credential": state.issue_keys("metadata", now, spec.key_ttl)})


def pod_identity(sim: Simulator, request: Request) -> Reply:
    """The pod identity endpoint: keys for the bearer of the scenario's pod token."""
    state, now = sim.identity, sim.now
    spec = state.spec.pod_identity
    if spec is None:
        return _text(404, "Not Found")
    shown = request.headers.get("authorization", "")
    if not secrets.compare_digest(shown.encode(), spec.token.get_secret_value().encode()):
        return _json(401, {"error_code": "CCE.01400001", "error_msg": "invalid pod identity token"})
    return _json(200, {"credential": state.issue_keys("pod_identity", now, spec.key_ttl)})


#: (method, path, operation) of each endpoint, and the function answering it.
ROUTES = (
    ("PUT", TOKEN_PATH, "metadata_token", session_token),
    ("GET", SECURITY_KEY_PATH, "metadata_securitykey", security_key),
    ("POST", POD_IDENTITY_PATH, "pod_identity", pod_identity),
)
