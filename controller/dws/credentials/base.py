"""What every credential method shares: the Credential protocol, grants, fetchers and their errors.

A method that obtains short-lived credentials at run time (metadata service, OIDC federation,
pod identity) is a `Fetcher`: a generator that yields the HTTP requests it needs and returns a
`Grant` (temporary AK/SK with a security token, or a scoped IAM token). The fetcher decides,
httpx sends: the same seam as every other auth flow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from pydantic import SecretStr

from controller.dws.credentials.flows import TOKEN_HEADER, parse_time, sign_request
from controller.dws.errors import AuthenticationError
from controller.logs import register_secrets


class CredentialsError(Exception):
    """Credentials configured in a way that cannot work (exit 2): one line, never a secret."""


class CredentialsUnavailable(AuthenticationError):
    """Credentials could not be obtained on this side (a file, a token, an answer): don't act."""

    def __init__(self, operation: str, detail: str) -> None:
        self.detail = detail
        super().__init__(status=0, operation=operation, error_msg=detail)

    def _describe(self) -> str:
        return f"{self.operation} failed: {self.detail}"


class Credential(Protocol):
    """One way of authenticating: a name for the logs, its secrets, its httpx.Auth."""

    @property
    def method(self) -> str:
        """`auth.method` as chosen: aksk, token, password, env, metadata, oidc, pod_identity."""
        ...

    def describe(self) -> dict[str, str]:
        """Facts for the log line saying which method was chosen (never a secret)."""
        ...

    def secret_values(self) -> list[str]:
        """The secrets known before any request (run-time ones are registered when obtained)."""
        ...

    def auth(self) -> httpx.Auth: ...


@dataclass(frozen=True)
class TemporaryKeys:
    """Temporary AK/SK and the security token that must go with them, until `expires_at`."""

    ak: str
    sk: SecretStr
    security_token: SecretStr
    expires_at: dt.datetime
    project_id: str | None = field(default=None, compare=False)

    def secrets(self) -> list[str]:
        return [self.ak, self.sk.get_secret_value(), self.security_token.get_secret_value()]

    def apply(self, request: httpx.Request, now: dt.datetime) -> None:
        sign_request(
            request,
            self.ak,
            self.sk.get_secret_value(),
            project_id=self.project_id,
            security_token=self.security_token.get_secret_value(),
            now=now,
        )


@dataclass(frozen=True)
class ScopedToken:
    """A project-scoped IAM token (what some federation set-ups hand out instead of keys)."""

    token: SecretStr
    expires_at: dt.datetime

    def secrets(self) -> list[str]:
        return [self.token.get_secret_value()]

    def apply(self, request: httpx.Request, now: dt.datetime) -> None:
        request.headers[TOKEN_HEADER] = self.token.get_secret_value()


Grant = TemporaryKeys | ScopedToken

#: What a fetcher is: yields requests, is sent their (read) responses, returns a Grant.
FetchFlow = Generator[httpx.Request, httpx.Response, Grant]


class Fetcher(Protocol):
    """Obtains a fresh Grant; `original` is the request it is obtained for (timeouts, user agent)."""

    def fetch(self, original: httpx.Request) -> FetchFlow: ...


def accepted(grant: Grant) -> Grant:
    """`grant`, its secrets registered for masking first: no log line can show them afterwards."""
    register_secrets(*grant.secrets())
    return grant


def keys_from(payload: object, operation: str, project_id: str | None) -> TemporaryKeys:
    """Temporary keys from `{"credential": {...}}` in the spellings the vendor SDK accepts."""
    body = payload if isinstance(payload, dict) else {}
    inner = body.get("credential", body.get("credentials", body))
    values = inner if isinstance(inner, dict) else {}

    def first(*names: str) -> str | None:
        found = next((values[n] for n in names if isinstance(values.get(n), str)), None)
        return found or None

    ak = first("access", "accessKeyId", "access_key_id")
    sk = first("secret", "secretAccessKey", "secret_access_key")
    token = first("securitytoken", "securityToken", "security_token")
    expires = parse_time(first("expires_at", "expiration"))
    if not (ak and sk and token and expires):
        raise CredentialsUnavailable(
            operation, "the answer holds no complete access, secret, securitytoken and expires_at"
        )
    return TemporaryKeys(ak, SecretStr(sk), SecretStr(token), expires, project_id)
