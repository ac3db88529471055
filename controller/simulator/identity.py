"""The emulator's short-lived credentials: what the scenario allows, and what it has handed out.

Temporary AK/SK (from the metadata service, IAM federation or pod identity) live in
`IdentityState.keys` until they expire on the world's clock; the API gateway accepts only
current ones, and only with their security token. The scenario's `identity:` section says
which sources exist; all are off unless the scenario (or a test) turns them on.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from controller.config_types import parse_duration

Offset = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
#: The time format of IAM and the metadata service (the vendor SDK parses exactly this).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetadataSpec(_Model):
    """The ECS metadata service: the node's agency hands out keys for `key_ttl`."""

    agency: bool = True  # False: 401 "Please configure Cloud Service Agency first"
    token_api: bool = True  # False: an older service, 404 to the session-token PUT
    require_token: bool = True  # False: a securitykey GET without a session token is answered
    key_ttl: Offset = dt.timedelta(hours=1)


class FederationSpec(_Model):
    """An IAM identity provider trusting an OIDC issuer (a Kubernetes cluster) by its JWKS."""

    idp_id: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    jwks: dict[str, list[dict[str, Any]]]  # {"keys": [JWK, ...]}
    scoped: bool = False  # True: the id-token exchange answers a project-scoped token
    token_ttl: Offset = dt.timedelta(hours=24)
    max_duration: Offset = dt.timedelta(hours=24)  # cap on duration_seconds (real IAM: 24 h)


class PodIdentitySpec(_Model):
    """CCE pod identity: the node's endpoint answers keys to whoever shows `token`."""

    token: SecretStr
    key_ttl: Offset = dt.timedelta(hours=1)


class IdentitySpec(_Model):
    metadata: MetadataSpec | None = None
    federation: FederationSpec | None = None
    pod_identity: PodIdentitySpec | None = None


@dataclass(frozen=True)
class TemporaryKey:
    sk: str
    security_token: str
    expires: dt.datetime
    source: str  # metadata, federation, pod_identity


@dataclass
class IdentityState:
    """The scenario's identity sources and what they issued (keys, session and unscoped tokens)."""

    spec: IdentitySpec = field(default_factory=IdentitySpec)
    keys: dict[str, TemporaryKey] = field(default_factory=dict)  # AK -> key
    metadata_tokens: dict[str, dt.datetime] = field(default_factory=dict)  # token -> expiry
    unscoped_tokens: dict[str, dt.datetime] = field(default_factory=dict)  # token -> expiry
    subjects: list[str] = field(default_factory=list)  # `sub` of every ID token accepted

    def issue_keys(self, source: str, now: dt.datetime, ttl: dt.timedelta) -> dict[str, str]:
        """New temporary keys valid for `ttl`, as `{"access", "secret", "securitytoken", "expires_at"}`."""
        ak = "SIMTMP" + secrets.token_hex(7).upper()
        key = TemporaryKey(
            sk=secrets.token_urlsafe(30),
            security_token="simst-" + secrets.token_urlsafe(96),
            expires=now + ttl,
            source=source,
        )
        self.keys[ak] = key
        return {
            "access": ak,
            "secret": key.sk,
            "securitytoken": key.security_token,
            "expires_at": key.expires.strftime(TIME_FORMAT),
        }

    def current_key(self, ak: str, now: dt.datetime) -> TemporaryKey | str:
        """The key for `ak` if it is still valid; else why not."""
        key = self.keys.get(ak)
        if key is None:
            return "access key not found"
        if key.expires <= now:
            return "the temporary access key has expired"
        return key


def check_temporary(
    state: IdentityState, ak: str, security_token: str | None, now: dt.datetime
) -> str | None:
    """The SK to verify a signature by temporary `ak` with, or None; raises nothing.

    Kept apart from the gateway's own check so the gateway only asks "whose SK is this?".
    """
    key = state.current_key(ak, now)
    if isinstance(key, str) or security_token is None:
        return None
    return key.sk if secrets.compare_digest(key.security_token, security_token) else None


def temporary_refusal(
    state: IdentityState, ak: str, security_token: str | None, now: dt.datetime
) -> str:
    """Why a temporary `ak` was refused (for the gateway's 401 message)."""
    key = state.current_key(ak, now)
    if isinstance(key, str):
        return key
    if security_token is None:
        return "temporary credentials need an X-Security-Token header"
    return "the security token does not belong to this access key"
