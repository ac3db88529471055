"""The httpx.Auth for credentials obtained at run time: fetch a Grant, use it, renew it before it expires.

Renewal happens `margin` before expiry (half-way through for short-lived grants), on the
injected clock, and once more when DWS answers 401 (the grant was revoked or expired early).
One lock serialises fetches, so parallel requests that find no valid grant fetch once.
A fetch that fails raises: the caller does not act without credentials (fail closed), unless
the grant in use is still valid (a renewal that failed in the margin is tried again a minute on).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, Generator

import httpx
import structlog

from controller.clock import Clock
from controller.dws.credentials.base import Fetcher, Grant, accepted
from controller.dws.credentials.flows import refresh_time
from controller.dws.errors import DwsError

log = structlog.get_logger(__name__)

#: The vendor SDK's metadata credentials are renewed about 10 minutes before they expire.
DEFAULT_MARGIN = dt.timedelta(minutes=10)
#: After a failed renewal the current grant is used this long before the next attempt.
RETRY_RENEWAL = dt.timedelta(minutes=1)


class RefreshingAuth(httpx.Auth):
    """Signs each request with the current Grant from `fetcher`, renewing it as needed."""

    requires_request_body = True  # AK/SK signing hashes the body; a 401 replays the request

    def __init__(
        self, fetcher: Fetcher, *, clock: Clock, margin: dt.timedelta = DEFAULT_MARGIN
    ) -> None:
        self.fetcher = fetcher
        self._clock = clock
        self._margin = margin
        self._grant: Grant | None = None
        self._renew_at: dt.datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def grant(self) -> Grant | None:
        """The grant in use (None before the first request)."""
        return self._grant

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise TypeError("RefreshingAuth needs an httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected: Grant | None = None  # the grant a 401 refused: replaced once, not twice
        for _ in range(2):
            async with self._lock:
                grant = self._grant
                if grant is None or grant is rejected or self._due():
                    flow = self.fetcher.fetch(request)
                    try:
                        step = next(flow)
                        while True:
                            response = yield step
                            await response.aread()
                            step = flow.send(response)
                    except StopIteration as done:
                        grant = self._keep(done.value)
                    except DwsError as exc:
                        grant = self._still_valid(grant, rejected, exc)
            grant.apply(request, self._clock.now())
            response = yield request
            if response.status_code != httpx.codes.UNAUTHORIZED:
                return
            rejected = grant

    def _due(self) -> bool:
        return self._renew_at is None or self._clock.now() >= self._renew_at

    def _keep(self, grant: Grant) -> Grant:
        self._grant = accepted(grant)
        self._renew_at = refresh_time(self._clock.now(), grant.expires_at, self._margin)
        return grant

    def _still_valid(self, grant: Grant | None, rejected: Grant | None, exc: DwsError) -> Grant:
        """The current grant when a renewal failed before it expired (tried again soon); else raise.

        A brief IAM or metadata outage in the renewal margin must not stop the controller,
        but nothing is ever signed with a grant past its expiry or one DWS has refused.
        """
        now = self._clock.now()
        if grant is None or grant is rejected or now >= grant.expires_at:
            raise exc
        self._renew_at = min(now + RETRY_RENEWAL, grant.expires_at)
        log.warning(
            "credentials_renewal_failed",
            fetcher=repr(self.fetcher),
            error=str(exc),
            expires_at=grant.expires_at.isoformat(),
        )
        return grant

    def __repr__(self) -> str:
        return f"RefreshingAuth({self.fetcher!r})"
