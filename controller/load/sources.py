"""The load sources a controller talks to: one Cloud Eye client per endpoint, one Prometheus per URL.

Made on first use, from the load settings of the policies that ask for them, and closed together.
Cloud Eye is signed with the very `httpx.Auth` the DWS client uses: the same credentials.
"""

from __future__ import annotations

import httpx

from controller.load.cloud_eye import CloudEyeClient
from controller.load.prometheus import PrometheusBlockers
from controller.settings import LoadSettings, Settings


class LoadSources:
    def __init__(
        self,
        settings: Settings,
        auth: httpx.Auth,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._auth = auth
        self._transport = transport
        self._cloud_eye: dict[tuple[str, int], CloudEyeClient] = {}
        self._prometheus: dict[tuple[str, float], PrometheusBlockers] = {}

    def cloud_eye(self, load: LoadSettings) -> CloudEyeClient:
        key = (self.settings.cloud_eye_endpoint(load), load.cloud_eye.max_metrics_per_call)
        if key not in self._cloud_eye:
            self._cloud_eye[key] = CloudEyeClient(
                endpoint=key[0],
                project_id=self.settings.project_id,
                auth=self._auth,
                timeout=self.settings.request_timeout.total_seconds(),
                max_metrics_per_call=key[1],
                transport=self._transport,
            )
        return self._cloud_eye[key]

    def prometheus(self, load: LoadSettings) -> PrometheusBlockers:
        url = load.prometheus.url
        if url is None:  # the settings require a URL with blockers; never guess one
            raise ValueError("prometheus blockers need load.prometheus.url")
        key = (url, load.prometheus.timeout.total_seconds())
        if key not in self._prometheus:
            self._prometheus[key] = PrometheusBlockers(
                url, timeout=key[1], transport=self._transport
            )
        return self._prometheus[key]

    @property
    def calls(self) -> int:
        """Every call made to any source (CES batch calls and PromQL queries)."""
        ces = sum(client.calls for client in self._cloud_eye.values())
        return ces + sum(client.calls for client in self._prometheus.values())

    async def aclose(self) -> None:
        for cloud_eye in self._cloud_eye.values():
            await cloud_eye.aclose()
        for prometheus in self._prometheus.values():
            await prometheus.aclose()
