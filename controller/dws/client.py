"""The only code that talks to DWS: list, detail and switchover, with timeouts, bounded retries, typed errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import quote

import httpx
import structlog

from controller import __version__
from controller.clock import Clock, SystemClock
from controller.cloud_http import client_context
from controller.dws.auth import OPERATION_KEY
from controller.dws.errors import (
    DwsApiError,
    DwsTransportError,
    MalformedResponseError,
    error_from_response,
    unreadable,
)
from controller.dws.parse import (
    ListDecoder,
    NotAClusterList,
    parse_cluster_detail,
    parse_cluster_list,
)
from controller.dws.retry import RetryPolicy
from controller.model import Cluster

log = structlog.get_logger(__name__)

#: on_request(operation, code, seconds): one call per HTTP attempt; code is the status or
#: "timeout" / "connection_error".
RequestHook = Callable[[str, str, float], None]
#: on_unexpected(operation, kind): an answer that was accepted although it looked wrong,
#: e.g. ("switchover", "not_json") for a 2xx whose body is not JSON.
UnexpectedHook = Callable[[str, str], None]
NOT_JSON = "not_json"

_T = TypeVar("_T")

_STARTED_KEY = "dws_started"
#: Failures that happen before a byte of the request left: the request was certainly not applied.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


@dataclass(frozen=True)
class SwitchoverAck:
    """DWS's answer to a switchover POST: True = accepted, None = unknown (read the cluster back)."""

    accepted: bool | None
    detail: str
    request_id: str | None = None


class DwsClient:
    """Async DWS client for one project. Reads retry within a budget; a switchover is never retried."""

    def __init__(
        self,
        *,
        endpoint: str,
        project_id: str,
        auth: httpx.Auth,
        timeout: float = 10.0,
        retry_budget: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_request: RequestHook | None = None,
        on_unexpected: UnexpectedHook | None = None,
        user_agent: str = f"dws-rebalancer/{__version__}",
        clock: Clock | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.project_id = project_id
        self._auth = auth
        self._clock = clock or SystemClock()
        self._on_request = on_request
        self._on_unexpected = on_unexpected
        self._lists = ListDecoder()  # remembers the last list answer's entries
        self.retry = RetryPolicy(budget=retry_budget)
        self._retrying = self.retry.caller()
        self._http = httpx.AsyncClient(
            auth=auth,
            verify=client_context(),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": user_agent},
            follow_redirects=False,
            event_hooks={"request": [self._stamp], "response": [self._metered]},
        )

    @property
    def auth(self) -> httpx.Auth:
        """The auth flow signing our requests: Cloud Eye is signed by the very same one."""
        return self._auth

    async def list_clusters(self, enterprise_project_id: str | None = None) -> list[Cluster]:
        """Every cluster of the project (one request); unreadable entries are logged and left out."""
        params = {"enterprise_project_id": enterprise_project_id} if enterprise_project_id else None
        operation = "list_clusters"
        response = await self._get(operation, "clusters", params)
        return _parsed(operation, lambda: self._decode_list(response, operation))

    def _decode_list(self, response: httpx.Response, operation: str) -> list[Cluster]:
        """The fast path reads the bytes; an answer it cannot split is read again for a precise error."""
        try:
            return self._lists.decode(response.content, on_skip=_log_skipped)
        except NotAClusterList:
            return parse_cluster_list(_json_body(response, operation), on_skip=_log_skipped)

    async def get_cluster(self, cluster_id: str) -> Cluster:
        """One cluster's detail, including its maintenance window."""
        body = await self._get_json("get_cluster", f"clusters/{quote(cluster_id, safe='')}")
        return _parsed("get_cluster", lambda: parse_cluster_detail(body))

    async def switchover(self, cluster_id: str) -> SwitchoverAck:
        """POST the switchover exactly once.

        A definite refusal raises (4xx as its typed error, `DwsTransportError` when the request
        never left). An answer that leaves the outcome open (timeout or reset after sending, 5xx)
        returns `accepted=None`: the caller must read the cluster back, never simply re-POST.
        """
        operation = "switchover"
        path = f"clusters/{quote(cluster_id, safe='')}/switchover"
        try:
            response = await self._send(operation, "POST", path)
        except DwsTransportError as exc:
            if exc.sent is False:
                raise
            return SwitchoverAck(None, f"outcome unknown: {exc.detail}")
        request_id = response.headers.get("x-request-id")
        if response.is_success:
            if not _is_json_or_empty(response.content):
                # Accepted all the same (the status says so; tracking confirms it), but a
                # proxy or an API change could be behind it: say so once, and count it.
                log.warning(
                    "switchover_response_not_json",
                    cluster_id=cluster_id,
                    status=response.status_code,
                    content_type=response.headers.get("content-type", "none").split(";")[0],
                    body_bytes=len(response.content),  # the body itself is never logged
                    request_id=request_id,
                )
                self._unexpected(operation, NOT_JSON)
            return SwitchoverAck(True, f"accepted (HTTP {response.status_code})", request_id)
        error = self._error(response, operation)
        if response.is_client_error:
            raise error
        return SwitchoverAck(None, f"outcome unknown: {error}", error.request_id)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"DwsClient(endpoint={self.endpoint!r}, project_id={self.project_id!r}, auth={self._auth!r})"

    async def _get_json(
        self, operation: str, path: str, params: Mapping[str, str] | None = None
    ) -> object:
        return _json_body(await self._get(operation, path, params), operation)

    async def _get(
        self, operation: str, path: str, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """A successful GET with a body, within the retry budget."""
        return await self._retrying(
            self.retry.hook(self._clock), self._get_once, operation, path, params
        )

    async def _get_once(
        self, operation: str, path: str, params: Mapping[str, str] | None
    ) -> httpx.Response:
        response = await self._send(operation, "GET", path, params)
        if not response.is_success:
            raise self._error(response, operation)
        if not response.content.strip():
            raise MalformedResponseError(
                f"{operation}: HTTP {response.status_code} with an empty body"
            )
        return response

    async def _send(
        self, operation: str, method: str, path: str, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """One HTTP exchange (plus whatever the auth flow adds); transport failures become typed."""
        url = f"{self.endpoint}/v1.0/{quote(self.project_id, safe='')}/{path}"
        request = self._http.build_request(
            method, url, params=params, extensions={OPERATION_KEY: operation}
        )
        try:
            return await self._http.send(request)
        except httpx.TransportError as exc:
            failed = _failed_request(exc)
            self._report(failed or request, _code(exc))
            raise DwsTransportError(
                operation, _describe(exc), sent=_sent(request, failed, exc)
            ) from None
        except httpx.DecodingError:
            raise MalformedResponseError(
                f"{operation}: the response body could not be decoded"
            ) from None

    def _error(self, response: httpx.Response, operation: str) -> DwsApiError:
        return error_from_response(
            response.status_code,
            response.headers,
            response.content,
            operation,
            now=self._clock.now(),
        )

    async def _stamp(self, request: httpx.Request) -> None:
        request.extensions[_STARTED_KEY] = self._clock.monotonic()

    async def _metered(self, response: httpx.Response) -> None:
        # Read the body first: a connection lost mid-body must be reported as that (by `_send`),
        # not as the status line that preceded it.
        await response.aread()
        self._report(response.request, str(response.status_code))

    def _unexpected(self, operation: str, kind: str) -> None:
        """Tell the metrics hook about an answer accepted although it looked wrong."""
        if self._on_unexpected is None:
            return
        try:
            self._on_unexpected(operation, kind)
        except Exception:  # like the request hook: metrics must never break a DWS call
            log.warning("dws_unexpected_hook_failed", operation=operation, exc_info=True)

    def _report(self, request: httpx.Request, code: str) -> None:
        """Tell the metrics hook about one attempt; a broken hook must never break a DWS call."""
        if self._on_request is None:
            return
        started = request.extensions.get(_STARTED_KEY, self._clock.monotonic())
        operation = str(request.extensions.get(OPERATION_KEY, "other"))
        try:
            self._on_request(operation, code, self._clock.monotonic() - started)
        except Exception:  # any failure of the hook is logged and ignored
            log.warning("dws_request_hook_failed", operation=operation, exc_info=True)


def _code(exc: httpx.TransportError) -> str:
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "connection_error"


def _failed_request(exc: httpx.TransportError) -> httpx.Request | None:
    """The request (ours or an auth sub-request) whose exchange failed, if httpx says."""
    try:
        return exc.request
    except RuntimeError:
        return None


def _sent(request: httpx.Request, failed: httpx.Request | None, exc: Exception) -> bool | None:
    """False when `request` certainly never left; None (unknown) otherwise."""
    if failed is None:  # httpx did not say which: assume the worst
        return None
    if failed is not request:  # an auth sub-request (IAM login) failed first
        return False
    return False if isinstance(exc, _NOT_SENT) else None


def _describe(exc: httpx.TransportError) -> str:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    detail = " ".join(str(exc).split())  # one line, whatever the OS error said
    return f"{kind} ({type(exc).__name__}{': ' + detail if detail else ''})"


def _json_body(response: httpx.Response, operation: str) -> object:
    status = response.status_code
    if not response.content.strip():
        raise MalformedResponseError(f"{operation}: HTTP {status} with an empty body")
    try:
        return json.loads(response.content)
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise MalformedResponseError(
            f"{operation}: HTTP {status} with a body that is not JSON ({kind})"
        ) from None
    except RecursionError as exc:
        # e.g. 100 000 nested arrays: a hostile or broken answer, not a bug of ours
        raise MalformedResponseError(f"{operation}: HTTP {status} with {unreadable(exc)}") from None


def _parsed(operation: str, parse: Callable[[], _T]) -> _T:
    """`parse()`, with anything it raises on an odd answer turned into a `MalformedResponseError`.

    The parsers check the documented shapes; an answer they did not foresee (a type, a depth)
    may still make Python raise. That is the answer's fault, not a bug of the controller, so it
    must count as a malformed response (one line, no traceback) and fail closed like one.
    Running out of memory is the process's problem and is not disguised.
    """
    try:
        return parse()
    except (MalformedResponseError, MemoryError):
        raise
    except Exception as exc:
        raise MalformedResponseError(
            f"{operation}: the response could not be read: {unreadable(exc)}"
        ) from None


def _is_json_or_empty(content: bytes) -> bool:
    """True for the bodies DWS documents for an accepted switchover: empty, `{}` or other JSON."""
    if not content.strip():
        return True
    try:
        json.loads(content)
    except (ValueError, RecursionError):
        return False
    return True


def _log_skipped(problem: MalformedResponseError) -> None:
    log.warning("dws_cluster_skipped", problem=str(problem))
