"""httpx.Auth flows for DWS: AK/SK signing, a static IAM token, and an IAM password login with refresh.

Decision logic lives in the flow generators; httpx does the network work. Secrets stay
`SecretStr` until the moment a header or body needs them, and no repr shows them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from controller.clock import Clock, SystemClock
from controller.dws import signing
from controller.dws.errors import AuthenticationError, error_from_response
from controller.logs import register_secrets
from controller.settings import ConfigError, Settings

#: Request extension naming the DWS/IAM operation; the client's metering and error mapping read it.
OPERATION_KEY = "dws_operation"
IAM_OPERATION = "iam_token"

TOKEN_HEADER = "X-Auth-Token"  # noqa: S105 - a header name, not a secret
SUBJECT_TOKEN_HEADER = "X-Subject-Token"  # noqa: S105
PROJECT_HEADER = "X-Project-Id"
SECURITY_TOKEN_HEADER = "X-Security-Token"  # noqa: S105


class AkSkAuth(httpx.Auth):
    """SDK-HMAC-SHA256 signing, optionally with temporary credentials (a security token)."""

    requires_request_body = True  # the body's hash is signed

    def __init__(
        self,
        ak: str,
        sk: SecretStr,
        *,
        project_id: str | None,
        security_token: SecretStr | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.ak = ak
        self._sk = sk
        self.project_id = project_id
        self._security_token = security_token
        self._clock = clock or SystemClock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Only these headers are signed: whatever else httpx adds may be rewritten by proxies.
        signed = {
            signing.DATE_HEADER: signing.format_date(self._clock.now()),
            "Host": request.headers["Host"],
        }
        if self.project_id:
            signed[PROJECT_HEADER] = self.project_id
        if self._security_token is not None:
            signed[SECURITY_TOKEN_HEADER] = self._security_token.get_secret_value()
        if request.content and "Content-Type" in request.headers:
            signed["Content-Type"] = request.headers["Content-Type"]
        request.headers.update(signed)
        request.headers["Authorization"] = signing.sign(
            ak=self.ak,
            sk=self._sk.get_secret_value(),
            method=request.method,
            raw_path=request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
            # httpx decodes the query as a form would ('+' is a space), as servers do.
            params=request.url.params.multi_items(),
            headers=signed,
            body=request.content,
        )
        yield request

    def __repr__(self) -> str:
        temporary = ", temporary" if self._security_token is not None else ""
        return f"AkSkAuth(ak={self.ak!r}, project_id={self.project_id!r}{temporary})"


class StaticTokenAuth(httpx.Auth):
    """A ready-made IAM token, sent as `X-Auth-Token`; it is never refreshed."""

    def __init__(self, token: SecretStr) -> None:
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
        password: SecretStr,
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
        return httpx.Request(
            "POST",
            f"{self.iam_endpoint}/v3/auth/tokens",
            json=body,
            headers={"User-Agent": original.headers.get("User-Agent", "dws-rebalancer")},
            # A request built here misses the client's defaults: carry its timeouts over.
            extensions={
                **{k: v for k, v in original.extensions.items() if k == "timeout"},
                OPERATION_KEY: IAM_OPERATION,
            },
        )

    def _accept(self, response: httpx.Response) -> _Token:
        """The token from an IAM answer, or AuthenticationError carrying IAM's own message."""
        if not response.is_success:
            error = error_from_response(
                response.status_code, response.headers, response.content, IAM_OPERATION
            )
            raise AuthenticationError(
                status=error.status,
                operation=IAM_OPERATION,
                error_code=error.error_code,
                error_msg=error.error_msg,
                request_id=error.request_id,
            )
        value = response.headers.get(SUBJECT_TOKEN_HEADER)
        expires = _expires_at(response)
        if not value or expires is None:
            raise AuthenticationError(
                status=response.status_code,
                operation=IAM_OPERATION,
                error_msg="IAM answered without an X-Subject-Token header and token.expires_at",
            )
        register_secrets(value)  # a token obtained at runtime is masked in every log line too
        now = self._clock.now()
        # A short-lived token is refreshed half-way through rather than on every request.
        margin = min(self._margin, (expires - now) / 2)
        return _Token(SecretStr(value), refresh_at=expires - margin)

    def __repr__(self) -> str:
        return (
            f"IamPasswordAuth(iam_endpoint={self.iam_endpoint!r}, username={self.username!r}, "
            f"domain={self.domain!r}, project_id={self.project_id!r})"
        )


def _expires_at(response: httpx.Response) -> dt.datetime | None:
    try:
        text = response.json()["token"]["expires_at"]
        when = dt.datetime.fromisoformat(text)
    except (ValueError, KeyError, TypeError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def auth_from_settings(settings: Settings, clock: Clock) -> httpx.Auth:
    """The auth flow for the configured credentials (Settings has checked exactly one is set)."""
    auth = settings.auth
    if auth.ak and auth.sk:
        return AkSkAuth(
            auth.ak,
            auth.sk,
            project_id=settings.project_id,
            security_token=auth.security_token,
            clock=clock,
        )
    if auth.token:
        return StaticTokenAuth(auth.token)
    if auth.username and auth.password and auth.domain:
        return IamPasswordAuth(
            settings.iam_endpoint,
            auth.username,
            auth.password,
            auth.domain,
            settings.project_id,
            clock=clock,
        )
    raise ConfigError("no complete set of credentials in auth")
