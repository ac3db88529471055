"""PromQL blockers: each query is asked with `/api/v1/query`; any non-empty vector blocks.

As in kured, a blocker is a condition worth waiting for (a critical alert firing, a backup
running). Fails closed: an HTTP error, a timeout, an error answer, an unparsable body or a result
that is not a vector makes the whole check `Unknown`, and the queries after it are not asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from controller.cloud_http import client_context
from controller.load.facts import PROMETHEUS, Firing, Unknown

_MAX_DETAIL = 200


class PrometheusError(Exception):
    """One query could not be answered; the message says how."""


class PrometheusBlockers:
    """Asks one Prometheus the blocker queries; closed with `aclose()`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=url, timeout=timeout, transport=transport, verify=client_context()
        )
        #: Queries asked, for the caller's metrics and the tests.
        self.calls = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check(self, queries: Sequence[str]) -> list[Firing] | Unknown:
        """The blockers that return a non-empty vector now, or Unknown if any cannot be asked."""
        firing: list[Firing] = []
        for query in queries:
            try:
                result = await self._query(query)
            except PrometheusError as exc:
                return Unknown(PROMETHEUS, f"{query!r}: {exc}"[:_MAX_DETAIL])
            if result:
                firing.append(Firing(query, len(result), _labels(result[0])))
        return firing

    async def _query(self, query: str) -> list[Any]:
        self.calls += 1
        # Prometheus stops evaluating at its own `timeout` too, so a heavy query ends server-side.
        params = {"query": query, "timeout": f"{self._timeout:g}s"}
        try:
            response = await self._http.get("/api/v1/query", params=params)
        except httpx.TimeoutException:
            raise PrometheusError(f"no answer within {self._timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise PrometheusError(f"request failed: {type(exc).__name__}") from None
        return vector_of(response)


def vector_of(response: httpx.Response) -> list[Any]:
    """The result vector of an instant-query answer; PrometheusError for anything else."""
    try:
        body = response.json()
        status, data = body.get("status"), body.get("data")
    except (ValueError, AttributeError):
        raise PrometheusError(f"HTTP {response.status_code}, not a Prometheus answer") from None
    if status != "success":
        error = f"{body.get('errorType', 'error')}: {body.get('error', 'no message')}"
        raise PrometheusError(f"HTTP {response.status_code} {error}")
    if not isinstance(data, Mapping) or data.get("resultType") != "vector":
        kind = data.get("resultType") if isinstance(data, Mapping) else None
        raise PrometheusError(f"the result is a {kind or 'malformed answer'}, not a vector")
    result = data.get("result")
    if not isinstance(result, list):
        raise PrometheusError("the vector is malformed")
    return result


def _labels(sample: Any) -> str:
    metric = sample.get("metric") if isinstance(sample, Mapping) else None
    if not isinstance(metric, Mapping):
        return ""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"
