"""OIDC workload identity federation: a projected service-account token exchanged at IAM for temporary keys.

`POST {iam}/v3.0/OS-AUTH/id-token/tokens` (header `X-Idp-Id`, body `{"auth": {"id_token":
{"id": JWT}}}`) answers a token in `X-Subject-Token`. An unscoped one is exchanged at
`POST {iam}/v3.0/OS-CREDENTIAL/securitytokens` for temporary AK/SK and a security token, as
huaweicloudsdkcore does; a project-scoped one (some IAM set-ups answer that) is used as it is.

The token file is re-read at every exchange: the kubelet rotates it. A JWT that has expired by
our clock is not sent at all: IAM would refuse it, and the message would say less.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from controller.clock import Clock
from controller.dws.credentials.base import (
    CredentialsUnavailable,
    FetchFlow,
    ScopedToken,
    keys_from,
)
from controller.dws.credentials.flows import (
    SUBJECT_TOKEN_HEADER,
    raise_for_status,
    sub_request,
    token_expiry,
)
from controller.dws.credentials.refreshing import RefreshingAuth
from controller.dws.credentials.secretfile import SecretFile
from controller.logs import register_secrets

ID_TOKEN_PATH = "/v3.0/OS-AUTH/id-token/tokens"  # noqa: S105 - a path, not a secret
SECURITY_TOKEN_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"  # noqa: S105
IDP_HEADER = "X-Idp-Id"
ID_TOKEN_OPERATION = "iam_id_token"  # noqa: S105
KEYS_OPERATION = "iam_securitytoken"
#: The temporary keys' lifetime we ask for: the vendor SDK's 6 hours (IAM allows 15 min to 24 h).
DEFAULT_DURATION = dt.timedelta(hours=6)


class OidcFetcher:
    """Exchanges the ID token in `token_file` for a Grant at IAM, reading the file every time."""

    def __init__(
        self,
        iam_endpoint: str,
        idp_id: str,
        token_file: Path,
        *,
        clock: Clock,
        project_id: str | None,
        duration: dt.timedelta = DEFAULT_DURATION,
    ) -> None:
        self.iam_endpoint = iam_endpoint.rstrip("/")
        self.idp_id = idp_id
        self.token_file = SecretFile(token_file, what="the ID token file")
        self.project_id = project_id
        self.duration = duration
        self._clock = clock

    def fetch(self, original: httpx.Request) -> FetchFlow:
        jwt = self.token_file.get_secret_value()
        check_not_expired(jwt, self.token_file.path, self._clock.now())
        response = yield self._id_token_request(original, jwt)
        raise_for_status(response, ID_TOKEN_OPERATION)
        token, expires = response.headers.get(SUBJECT_TOKEN_HEADER), token_expiry(response)
        if not token or expires is None:
            raise CredentialsUnavailable(
                ID_TOKEN_OPERATION, "IAM answered without an X-Subject-Token and token.expires_at"
            )
        register_secrets(token)
        if _scoped(response):
            return ScopedToken(SecretStr(token), expires)
        response = yield self._keys_request(original, token)
        raise_for_status(response, KEYS_OPERATION)
        return keys_from(_json(response), KEYS_OPERATION, self.project_id)

    def _id_token_request(self, original: httpx.Request, jwt: str) -> httpx.Request:
        body = {"auth": {"id_token": {"id": jwt}}}
        url = self.iam_endpoint + ID_TOKEN_PATH
        headers = {IDP_HEADER: self.idp_id}
        return sub_request(original, "POST", url, ID_TOKEN_OPERATION, json=body, headers=headers)

    def _keys_request(self, original: httpx.Request, token: str) -> httpx.Request:
        seconds = int(self.duration.total_seconds())
        identity = {"methods": ["token"], "token": {"id": token, "duration_seconds": seconds}}
        url = self.iam_endpoint + SECURITY_TOKEN_PATH
        return sub_request(
            original, "POST", url, KEYS_OPERATION, json={"auth": {"identity": identity}}
        )

    def __repr__(self) -> str:
        return f"OidcFetcher(iam_endpoint={self.iam_endpoint!r}, idp_id={self.idp_id!r})"


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _scoped(response: httpx.Response) -> bool:
    """True when IAM's token answer names a project: the token works with DWS directly."""
    token = _json(response)
    token = token.get("token") if isinstance(token, dict) else None
    return isinstance(token, dict) and isinstance(token.get("project"), dict)


def check_not_expired(jwt: str, path: Path, now: dt.datetime) -> None:
    """CredentialsUnavailable when `jwt` is not a JWT or its `exp` has passed by `now`.

    The signature is IAM's business; this only reads the claims to give a clear message.
    """
    claims = jwt_claims(jwt)
    if claims is None:
        raise CredentialsUnavailable(ID_TOKEN_OPERATION, f"the ID token in {path} is not a JWT")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return  # no expiry claim: IAM decides
    try:
        expired = dt.datetime.fromtimestamp(exp, dt.UTC)
    except (OverflowError, ValueError, OSError):
        return  # far beyond any date: not expired
    if expired <= now:
        raise CredentialsUnavailable(
            ID_TOKEN_OPERATION,
            f"the ID token in {path} expired at {expired.isoformat()} "
            "(is the projected service-account token volume mounted and rotated?)",
        )


def jwt_claims(jwt: str) -> dict[str, object] | None:
    """The payload of a compact JWS, unverified, or None if it is not one."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class OidcCredential:
    """`auth.method: oidc`: a Kubernetes service account trusted by an IAM identity provider."""

    iam_endpoint: str
    idp_id: str
    id_token_file: Path
    project_id: str | None
    clock: Clock
    method: str = "oidc"

    def describe(self) -> dict[str, str]:
        return {
            "iam_endpoint": self.iam_endpoint,
            "idp_id": self.idp_id,
            "id_token_file": str(self.id_token_file),
        }

    def secret_values(self) -> list[str]:
        return []

    def auth(self) -> httpx.Auth:
        fetcher = OidcFetcher(
            self.iam_endpoint,
            self.idp_id,
            self.id_token_file,
            clock=self.clock,
            project_id=self.project_id,
        )
        return RefreshingAuth(fetcher, clock=self.clock)
