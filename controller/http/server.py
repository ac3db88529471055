"""The read-only HTTP side: /metrics, /healthz, /readyz, /status and an index at /.

Served by an embedded uvicorn in the controller's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import gzip
import json
import socket
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from enum import Enum
from typing import Any, Protocol

import uvicorn
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from controller import __version__
from controller.http.approvals import MAX_BODY_BYTES, ApprovalEndpoints
from controller.logs import get_logger, scrub

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = get_logger(__name__)

_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"


class Exposition(Protocol):
    """What `/metrics` serves: a `Metrics`, or a fleet's registry of every target's."""

    @property
    def registry(self) -> CollectorRegistry: ...


class StatusSource(Protocol):
    """What the loop tells the HTTP side; each call returns a snapshot and must not block."""

    def health(self) -> tuple[bool, str]:
        """Alive: the loop is turning (a DWS outage does not make it unhealthy; a stuck loop does)."""
        ...

    def ready(self) -> tuple[bool, str]:
        """Ready: the configuration is valid and the last cycle reached DWS."""
        ...

    def status(self) -> dict[str, Any]:
        """The controller summary first, then per cluster: state, last decision, switchovers, ..."""
        ...


def create_app(
    metrics: Exposition, source: StatusSource, approvals: ApprovalEndpoints | None = None
) -> ASGIApp:
    """An ASGI app, no framework: five read-only routes, and the two approval routes when on."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # served with lifespan="off"; nothing else is spoken here
        path, method = scope["path"], scope["method"]
        if ApprovalEndpoints.route(path) is not None:
            await _approval(scope, receive, send, approvals)
        elif path != "/metrics" and path not in _ROUTES:
            await _respond(send, 404, _TEXT, b"not found\n")
        elif method != "GET":
            await _respond(send, 405, _TEXT, b"method not allowed\n", [(b"allow", b"GET")])
        elif path == "/metrics":
            await _metrics(scope, send, metrics)
        else:
            status, media_type, body = _ROUTES[path](source, _pretty(scope))
            await _respond(send, status, media_type, scrub(body).encode())

    return app


async def _approval(
    scope: Scope, receive: Receive, send: Send, approvals: ApprovalEndpoints | None
) -> None:
    """`POST /approve/X`, `/veto/X`: 404 while the approval API is off (as if absent)."""
    route = ApprovalEndpoints.route(scope["path"])
    if approvals is None or route is None:
        await _respond(send, 404, _TEXT, b"not found\n")
        return
    if scope["method"] != "POST":
        await _respond(send, 405, _TEXT, b"method not allowed\n", [(b"allow", b"POST")])
        return
    body = await _body(receive, MAX_BODY_BYTES)
    if body is None:
        await _respond(send, 413, _TEXT, b"body too large\n")
        return
    status, answer = approvals.answer(*route, _header(scope, b"authorization"), body)
    await _respond(send, status, _JSON, scrub(_dumps(answer, False)).encode())


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it grows past `limit` bytes."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = bool(message.get("more_body", False)) and message["type"] == "http.request"
    return b"".join(chunks)


async def _metrics(scope: Scope, send: Send, metrics: Exposition) -> None:
    """The exposition, OpenMetrics when asked for, gzip-compressed when the scraper accepts it
    (Prometheus always does: a 10 000-cluster exposition shrinks about tenfold)."""
    encoder, content_type = choose_encoder(_header(scope, b"accept"))
    body = encoder(metrics.registry)
    extra = [(b"vary", b"Accept-Encoding")]
    if "gzip" in _header(scope, b"accept-encoding").lower():
        body = gzip.compress(body, compresslevel=1)  # fast: the point is the bytes on the wire
        extra.append((b"content-encoding", b"gzip"))
    await _respond(send, 200, content_type.encode(), body, extra)


def _probe(check: Callable[[], tuple[bool, str]]) -> tuple[int, bytes, str]:
    try:
        ok, message = check()
    except Exception:  # a probe that cannot answer is a failing probe, not a crashed server
        log.exception("probe_failed")
        return 503, _TEXT, "check failed; see the controller log\n"
    return (200 if ok else 503), _TEXT, message.rstrip("\n") + "\n"


def _pretty(scope: Scope) -> bool:
    """`?pretty`, `?pretty=1` (or `true`/`yes`): indented JSON for people reading it with curl."""
    raw = bytes(scope.get("query_string", b"")).decode("latin-1")
    query = urllib.parse.parse_qs(raw, keep_blank_values=True)
    return any(v.lower() in ("1", "true", "yes", "") for v in query.get("pretty", []))


def _dumps(value: object, pretty: bool) -> str:
    # Key order is kept, not sorted: /status puts the controller summary before the clusters.
    return json.dumps(value, default=_json_default, indent=2 if pretty else None) + "\n"


def _status(source: StatusSource, pretty: bool) -> tuple[int, bytes, str]:
    try:
        body = _dumps(source.status(), pretty)
    except Exception:
        log.exception("status_snapshot_failed")
        return 500, _TEXT, "status unavailable; see the controller log\n"
    return 200, _JSON, body


#: What `/` lists: every endpoint and what it answers.
ENDPOINTS = {
    "/metrics": "Prometheus metrics (OpenMetrics when asked for)",
    "/healthz": "liveness: 200 while the control loop turns, whatever DWS does",
    "/readyz": "readiness: 200 once the configuration is valid and the last cycle reached DWS",
    "/status": "JSON: the controller summary, then each cluster's state; ?pretty=1 indents it",
}


def _index(_: StatusSource, pretty: bool) -> tuple[int, bytes, str]:
    index = {"service": "dws-rebalancer", "version": __version__, "endpoints": ENDPOINTS}
    return 200, _JSON, _dumps(index, pretty)


#: The routes answered from the status source; /metrics is answered from the registry.
_ROUTES: dict[str, Callable[[StatusSource, bool], tuple[int, bytes, str]]] = {
    "/": _index,
    "/healthz": lambda source, _: _probe(source.health),
    "/readyz": lambda source, _: _probe(source.ready),
    "/status": _status,
}


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def _respond(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class EmbeddedServer(uvicorn.Server):
    """uvicorn that leaves signal handling to its owner and calls `on_started` once it listens.

    Shared with the emulator's server, which runs the same way in a thread of its own.
    """

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


#: The IPv6 "any" address: listened on dual-stack, so IPv4 clients reach it too.
_ANY_IPV6 = "::"


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPv4 or IPv6 by the host); OSError names the address.

    `::` listens on every IPv6 and IPv4 address (one dual-stack socket); on a host without IPv6
    (a node booted with ipv6.disable=1) it falls back to every IPv4 address, so a chart that
    listens on `[::]` still starts there.
    """
    host = host.strip("[]")
    try:
        if host == _ANY_IPV6:
            return _any_address_socket(port)
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _any_address_socket(port: int) -> socket.socket:
    if socket.has_dualstack_ipv6():
        try:
            return socket.create_server(
                (_ANY_IPV6, port), family=socket.AF_INET6, dualstack_ipv6=True
            )
        except OSError as exc:
            if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
    sock = socket.create_server(("0.0.0.0", port), family=socket.AF_INET)  # noqa: S104
    log.warning("ipv6_unavailable", listening_on=f"0.0.0.0:{sock.getsockname()[1]}")
    return sock


class HttpServer:
    """Serves an ASGI app inside the running asyncio loop until `stop()`."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.host = host.strip("[]")  # "[::]:9108" names an IPv6 host
        self.port = port
        self._listening = asyncio.Event()
        self._server = EmbeddedServer(
            uvicorn.Config(
                app,
                lifespan="off",
                log_config=None,  # our logging set-up already routes uvicorn's loggers
                access_log=False,  # a scrape every few seconds is not news
                server_header=False,
                timeout_graceful_shutdown=5,
            ),
            on_started=self._listening.set,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind and start serving; returns once the socket listens. OSError names the address."""
        sock = listen_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        task = asyncio.create_task(self._server.serve(sockets=[sock]))
        listening = asyncio.create_task(self._listening.wait())
        await asyncio.wait({task, listening}, return_when=asyncio.FIRST_COMPLETED)
        if not listening.done():
            listening.cancel()
            sock.close()
            task.result()  # re-raises why it stopped
            raise RuntimeError(f"HTTP server on {self.host}:{self.port} stopped while starting")
        self._task = task
        log.info("http_server_started", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Finish in-flight requests, close the socket and return."""
        if self._task is None:
            return
        self._server.should_exit = True
        task, self._task = self._task, None
        await task
        log.info("http_server_stopped", host=self.host, port=self.port)
