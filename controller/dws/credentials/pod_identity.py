"""CCE pod identity: temporary keys from the node's credentials endpoint, as huaweicloudsdkcore asks it.

CCE injects `HC_CONTAINER_CREDENTIALS_FULL_URI` and `HC_CONTAINER_AUTHORIZATION_TOKEN_FILE` into
a pod whose service account is bound to an IAM agency. `POST` to the URI with the token file's
content as `Authorization` and a `{}` body answers the keys. The token file is re-read at every
fetch: it rotates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from controller.clock import Clock
from controller.dws.credentials.base import FetchFlow, keys_from
from controller.dws.credentials.flows import raise_for_status, sub_request
from controller.dws.credentials.refreshing import RefreshingAuth
from controller.dws.credentials.secretfile import SecretFile

URI_ENV = "HC_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE_ENV = "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE"  # noqa: S105 - a variable's name
OPERATION = "pod_identity"


class PodIdentityFetcher:
    def __init__(self, uri: str, token_file: Path, *, project_id: str | None) -> None:
        self.uri = uri
        self.token_file = SecretFile(
            token_file, what=f"the pod identity token file ({TOKEN_FILE_ENV})"
        )
        self.project_id = project_id

    def fetch(self, original: httpx.Request) -> FetchFlow:
        headers = {"Authorization": self.token_file.get_secret_value()}
        response = yield sub_request(
            original, "POST", self.uri, OPERATION, json={}, headers=headers
        )
        raise_for_status(response, OPERATION)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return keys_from(payload, OPERATION, self.project_id)

    def __repr__(self) -> str:
        return f"PodIdentityFetcher(uri={self.uri!r})"


@dataclass(frozen=True)
class PodIdentityCredential:
    """`auth.method: pod_identity`: the IAM agency CCE binds to the pod's service account."""

    uri: str
    token_file: Path
    project_id: str | None
    clock: Clock
    method: str = "pod_identity"

    def describe(self) -> dict[str, str]:
        return {"uri": self.uri, "token_file": str(self.token_file)}

    def secret_values(self) -> list[str]:
        return []

    def auth(self) -> httpx.Auth:
        fetcher = PodIdentityFetcher(self.uri, self.token_file, project_id=self.project_id)
        return RefreshingAuth(fetcher, clock=self.clock)
