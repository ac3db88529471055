"""Node agency credentials from the ECS/BMS metadata service, with the vendor SDK's session-token protocol.

`PUT {endpoint}/meta-data/latest/api/token` (TTL header) gives a session token, sent as
`X-Metadata-Token` with `GET {endpoint}/openstack/latest/securitykey`, which answers
`{"credential": {"access", "secret", "securitytoken", "expires_at"}}`. A service without the
token API (404, 405, 503 to the PUT) is asked without one; a 401 to the GET (other than "no
agency configured") gets a new session token and one more try, as huaweicloudsdkcore does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from controller.clock import Clock
from controller.dws.credentials.base import FetchFlow, keys_from
from controller.dws.credentials.flows import raise_for_status, sub_request
from controller.dws.credentials.refreshing import RefreshingAuth
from controller.logs import register_secrets

TOKEN_PATH = "/meta-data/latest/api/token"  # noqa: S105 - a path, not a secret
SECURITY_KEY_PATH = "/openstack/latest/securitykey"
TOKEN_HEADER = "X-Metadata-Token"  # noqa: S105
TTL_HEADER = "X-Metadata-Token-Ttl-Seconds"
#: The session token's lifetime we ask for: the vendor SDK's 6 hours.
SESSION_TTL = dt.timedelta(hours=6)
#: The metadata service's 401 when the server has no agency: a new session token won't help.
NO_AGENCY = "Please configure Cloud Service Agency first"
TOKEN_OPERATION = "metadata_token"  # noqa: S105
KEY_OPERATION = "metadata_securitykey"
_NO_TOKEN_API = (404, 405, 503)


@dataclass
class _Session:
    token: SecretStr | None  # None: the service has no token API (ask without one)
    renew_at: dt.datetime


class MetadataFetcher:
    """Fetches the node agency's temporary keys; keeps the session token between fetches."""

    def __init__(self, endpoint: str, *, clock: Clock, project_id: str | None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.project_id = project_id
        self._clock = clock
        self._session: _Session | None = None

    def fetch(self, original: httpx.Request) -> FetchFlow:
        if self._session is None or self._clock.now() >= self._session.renew_at:
            yield from self._new_session(original, must_succeed=False)
        response = yield self._key_request(original)
        if response.status_code == httpx.codes.UNAUTHORIZED and NO_AGENCY not in response.text:
            yield from self._new_session(original, must_succeed=True)
            response = yield self._key_request(original)
        raise_for_status(response, KEY_OPERATION)
        return keys_from(_json(response), KEY_OPERATION, self.project_id)

    def _new_session(
        self, original: httpx.Request, *, must_succeed: bool
    ) -> Generator[httpx.Request, httpx.Response, None]:
        headers = {TTL_HEADER: str(int(SESSION_TTL.total_seconds()))}
        url = self.endpoint + TOKEN_PATH
        response = yield sub_request(original, "PUT", url, TOKEN_OPERATION, headers=headers)
        # Renewed a minute early: a token that expires between our check and its use would 401.
        renew_at = self._clock.now() + SESSION_TTL - dt.timedelta(minutes=1)
        if response.status_code in _NO_TOKEN_API and not must_succeed:
            self._session = _Session(None, renew_at)
            return
        raise_for_status(response, TOKEN_OPERATION)
        token = response.text.strip()
        register_secrets(token)
        self._session = _Session(SecretStr(token) if token else None, renew_at)

    def _key_request(self, original: httpx.Request) -> httpx.Request:
        session = self._session
        token = session.token if session is not None else None
        headers = {TOKEN_HEADER: token.get_secret_value()} if token is not None else {}
        return sub_request(
            original, "GET", self.endpoint + SECURITY_KEY_PATH, KEY_OPERATION, headers=headers
        )

    def __repr__(self) -> str:
        return f"MetadataFetcher(endpoint={self.endpoint!r})"


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class MetadataCredential:
    """`auth.method: metadata`: the agency of the server (or CCE node) the controller runs on."""

    endpoint: str
    project_id: str | None
    clock: Clock
    method: str = "metadata"

    def describe(self) -> dict[str, str]:
        return {"metadata_endpoint": self.endpoint}

    def secret_values(self) -> list[str]:
        return []

    def auth(self) -> httpx.Auth:
        fetcher = MetadataFetcher(self.endpoint, clock=self.clock, project_id=self.project_id)
        return RefreshingAuth(fetcher, clock=self.clock)
