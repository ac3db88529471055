"""A channel to Huawei Cloud SMN: publish to a topic, signed with the controller's own credentials.

`POST /v2/{project_id}/notifications/topics/{topic_urn}/publish` with `{"subject", "message"}`
(subject at most 512 bytes, message 256 KB), answered `{"message_id", "request_id"}`. The caller
hands in the `httpx.Auth` the DWS client signs with, as Cloud Eye does: the same identity, which
needs `smn:topic:publish`. A 5xx, a 429 or no answer is worth another try; any other refusal
(a wrong topic, no permission) is not.
"""

from __future__ import annotations

import urllib.parse

import httpx

from controller.cloud_http import client_context, error_text
from controller.notify.channel import DeliveryError
from controller.notify.compose import Message

MAX_SUBJECT_BYTES = 512
MAX_MESSAGE_BYTES = 256 * 1024


def topic_name(topic_urn: str) -> str:
    """The topic's name: the URN's last part (`urn:smn:cn-north-4:PROJECT:dws-ops` → `dws-ops`)."""
    return topic_urn.rsplit(":", 1)[-1]


class SmnChannel:
    def __init__(
        self,
        label: str,
        events: frozenset[str],
        *,
        endpoint: str,
        project_id: str,
        topic_urn: str,
        auth: httpx.Auth,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.label, self.events = label, events
        self.key = f"smn:{topic_name(topic_urn)}"
        topic = urllib.parse.quote(topic_urn, safe=":")
        self._path = f"/v2/{project_id}/notifications/topics/{topic}/publish"
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=endpoint,
            auth=auth,
            timeout=timeout,
            transport=transport,
            verify=client_context(),
        )

    async def deliver(self, message: Message) -> None:
        body = {
            "subject": _clip(message.subject, MAX_SUBJECT_BYTES),
            "message": _clip(message.body, MAX_MESSAGE_BYTES),
        }
        try:
            response = await self._http.post(self._path, json=body)
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer within {self._timeout:g}s", retryable=True) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"request failed: {type(exc).__name__}", retryable=True) from None
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code == 429
            raise DeliveryError(error_text(response), retryable=retryable)

    async def aclose(self) -> None:
        await self._http.aclose()


def _clip(text: str, limit: int) -> str:
    encoded = text.encode()
    return text if len(encoded) <= limit else encoded[:limit].decode(errors="ignore")
