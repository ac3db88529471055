"""httpx.Auth flows for static credentials: AK/SK signing, a fixed IAM token, an IAM password login.

Decision logic lives in the flow generators; httpx does the network work. Secrets stay
`SecretStr` (or a `SecretFile`, re-read when it changes) until a header or body needs them,
and no repr shows them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr

from controller.clock import Clock, SystemClock
from controller.dws import signing
from controller.dws.errors import AuthenticationError, error_from_response
from controller.logs import register_secrets

#: Request extension naming the DWS/IAM operation; the client's metering and error mapping read it.
OPERATION_KEY = "dws_operation"
IAM_OPERATION = "iam_token"

TOKEN_HEADER = "X-Auth-Token"  # noqa: S105 - a header name, not a secret
SUBJECT_TOKEN_HEADER = "X-Subject-Token"  # noqa: S105
PROJECT_HEADER = "X-Project-Id"
SECURITY_TOKEN_HEADER = "X-Security-Token"  # noqa: S105


class SecretValue(Protocol):
    """A secret read when needed: a pydantic `SecretStr`, or a `SecretFile` re-read on change."""

    def get_secret_value(self) -> str: ...


def _plain(value: str | SecretValue) -> str:
    return value if isinstance(value, str) else value.get_secret_value()


class AkSkAuth(httpx.Auth):
    """SDK-HMAC-SHA256 signing, optionally with temporary credentials (a security token)."""

    requires_request_body = True  # the body's hash is signed

    def __init__(
        self,
        ak: str | SecretValue,
        sk: SecretValue,
        *,
        project_id: str | None,
        security_token: SecretValue | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.ak = ak
        self._sk = sk
        self.project_id = project_id
        self._security_token = security_token
        self._clock = clock or SystemClock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(
            request,
            _plain(self.ak),
            self._sk.get_secret_value(),
            project_id=self.project_id,
            security_token=(
                None if self._security_token is None else self._security_token.get_secret_value()
            ),
            now=self._clock.now(),
        )
        yield request

    def __repr__(self) -> str:
        temporary = ", temporary" if self._security_token is not None else ""
        return f"AkSkAuth(ak={self.ak!r}, project_id={self.project_id!r}{temporary})"


def sign_request(
    request: httpx.Request,
    ak: str,
    sk: str,
    *,
    project_id: str | None,
    security_token: str | None,
    now: dt.datetime,
) -> None:
    """Sign `request` in place with SDK-HMAC-SHA256 (the headers it signs are set first)."""
    # Only these headers are signed: whatever else httpx adds may be rewritten by proxies.
    signed = {signing.DATE_HEADER: signing.format_date(now), "Host": request.headers["Host"]}
    if project_id:
        signed[PROJECT_HEADER] = project_id
    if security_token is not None:
        signed[SECURITY_TOKEN_HEADER] = security_token
    if request.content and "Content-Type" in request.headers:
        signed["Content-Type"] = request.headers["Content-Type"]
    request.headers.update(signed)
    request.headers["Authorization"] = signing.sign(
        ak=ak,
        sk=sk,
        method=request.method,
        raw_path=request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
        # httpx decodes the query as a form would ('+' is a space), as servers do.
        params=request.url.params.multi_items(),
        headers=signed,
        body=request.content,
    )


class StaticTokenAuth(httpx.Auth):
    """A ready-made IAM token, sent as `X-Auth-Token`; it is never refreshed (a file is re-read)."""

    def __init__(self, token: SecretValue) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[TOKEN_HEADER] = self._token.get_secret_value()
        yield request

    def __repr__(self) -> str:
        return "StaticTokenAuth(token=**********)"


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    refresh_at: dt.datetime


class IamPasswordAuth(httpx.Auth):
    """Logs in to IAM with a password, sends the token, refreshes it before expiry and once on a 401.

    One lock serialises logins, so parallel requests that find no valid token log in once.
    Async only: the lock is an asyncio.Lock.
    """

    requires_request_body = True  # a request may be replayed after a 401

    def __init__(
        self,
        iam_endpoint: str,
        username: str,
        password: SecretValue,
        domain: str,
        project_id: str,
        *,
        clock: Clock,
        refresh_margin: dt.timedelta = dt.timedelta(minutes=30),
    ) -> None:
        self.iam_endpoint = iam_endpoint.rstrip("/")
        self.username = username
        self._password = password
        self.domain = domain
        self.project_id = project_id
        self._clock = clock
        self._margin = refresh_margin
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise TypeError("IamPasswordAuth needs an httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected: _Token | None = None  # the token a 401 refused: it must be replaced, once
        for _ in range(2):
            async with self._lock:
                # Another request may have logged in while this one waited for the lock.
                token = self._token
                if token is None or token is rejected or self._clock.now() >= token.refresh_at:
                    response = yield self._login_request(request)
                    await response.aread()
                    token = self._token = self._accept(response)
            request.headers[TOKEN_HEADER] = token.value.get_secret_value()
            response = yield request
            if response.status_code != httpx.codes.UNAUTHORIZED:
                return
            rejected = token

    def _login_request(self, original: httpx.Request) -> httpx.Request:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.username,
                            "password": self._password.get_secret_value(),
                            "domain": {"name": self.domain},
                        }
                    },
                },
                "scope": {"project": {"id": self.project_id}},
            }
        }
        return sub_request(
            original, "POST", f"{self.iam_endpoint}/v3/auth/tokens", IAM_OPERATION, json=body
        )

    def _accept(self, response: httpx.Response) -> _Token:
        """The token from an IAM answer, or AuthenticationError carrying IAM's own message."""
        raise_for_status(response, IAM_OPERATION)
        value = response.headers.get(SUBJECT_TOKEN_HEADER)
        expires = token_expiry(response)
        if not value or expires is None:
            raise AuthenticationError(
                status=response.status_code,
                operation=IAM_OPERATION,
                error_msg="IAM answered without an X-Subject-Token header and token.expires_at",
            )
        register_secrets(value)  # a token obtained at runtime is masked in every log line too
        return _Token(
            SecretStr(value), refresh_at=refresh_time(self._clock.now(), expires, self._margin)
        )

    def __repr__(self) -> str:
        return (
            f"IamPasswordAuth(iam_endpoint={self.iam_endpoint!r}, username={self.username!r}, "
            f"domain={self.domain!r}, project_id={self.project_id!r})"
        )


def refresh_time(now: dt.datetime, expires: dt.datetime, margin: dt.timedelta) -> dt.datetime:
    """When to replace something that expires at `expires`: `margin` before, or half-way if sooner.

    A short-lived credential is refreshed half-way through rather than on every request.
    """
    return expires - min(margin, max(expires - now, dt.timedelta(0)) / 2)


def sub_request(
    original: httpx.Request,
    method: str,
    url: str,
    operation: str,
    *,
    json: object = None,
    headers: dict[str, str] | None = None,
) -> httpx.Request:
    """A request an auth flow sends on its own (a login, a key fetch) on behalf of `original`."""
    return httpx.Request(
        method,
        url,
        json=json,
        headers={
            "User-Agent": original.headers.get("User-Agent", "dws-rebalancer"),
            **(headers or {}),
        },
        # A request built here misses the client's defaults: carry its timeouts over.
        extensions={
            **{k: v for k, v in original.extensions.items() if k == "timeout"},
            OPERATION_KEY: operation,
        },
    )


def raise_for_status(response: httpx.Response, operation: str) -> None:
    """Nothing for a 2xx; else AuthenticationError carrying the server's own message."""
    if response.is_success:
        return
    error = error_from_response(response.status_code, response.headers, response.content, operation)
    raise AuthenticationError(
        status=error.status,
        operation=operation,
        error_code=error.error_code,
        error_msg=error.error_msg,
        request_id=error.request_id,
    )


def token_expiry(response: httpx.Response) -> dt.datetime | None:
    """`token.expires_at` of an IAM token answer, or None."""
    try:
        return parse_time(response.json()["token"]["expires_at"])
    except (ValueError, KeyError, TypeError):
        return None


def parse_time(text: object) -> dt.datetime | None:
    """An ISO 8601 time as IAM and the metadata service write it (naive means UTC), or None."""
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
