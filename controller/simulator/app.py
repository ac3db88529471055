"""The emulator's HTTP face: a raw ASGI app serving the DWS cluster API and IAM password tokens.

Each request: catch the world up with the clock, route, authenticate like the API gateway,
apply a pending fault if one matches, then answer from the world. Every response carries an
`X-Request-Id`, echoed as `request_id` in gateway/DWS error bodies.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from controller.clock import Clock, SystemClock
from controller.simulator import cloudeye, credential_routes, render, smn
from controller.simulator.auth import Denied, Issued, Request, check_dws_request, issue_token
from controller.simulator.faults import CANNED_KINDS, ConnectionDropped, Fault, Reply, canned
from controller.simulator.world import ClusterNotFound, Simulator, SwitchoverRefused

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CLUSTERS = r"^/v1\.0/(?P<project>[^/]+)/clusters"
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(_CLUSTERS + r"/?$"), "list_clusters"),
    ("GET", re.compile(_CLUSTERS + r"/(?P<cluster>[^/]+)/?$"), "get_cluster"),
    ("POST", re.compile(_CLUSTERS + r"/(?P<cluster>[^/]+)/switchover/?$"), "switchover"),
    ("POST", re.compile(r"^/v3/auth/tokens/?$"), "iam_token"),
    # Cloud Eye (simulator/cloudeye.py): its own host in the cloud, one emulator here.
    ("POST", re.compile(r"^/V1\.0/(?P<project>[^/]+)/batch-query-metric-data/?$"), cloudeye.BATCH),
    ("GET", re.compile(r"^/V1\.0/(?P<project>[^/]+)/metric-data/?$"), cloudeye.SHOW),
    # SMN (simulator/smn.py): topic publish, signed like the rest.
    (
        "POST",
        re.compile(r"^/v2/(?P<project>[^/]+)/notifications/topics/(?P<topic>[^/]+)/publish/?$"),
        smn.PUBLISH,
    ),
)
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: A dropped connection announces this much body and sends only the first bytes of it.
PROMISED_LENGTH = 64
PARTIAL_BODY = b'{"'


def json_reply(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(
        status, json.dumps(payload).encode(), (("Content-Type", "application/json"), *headers)
    )


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, pattern, operation in ROUTES:
        match = pattern.match(path)
        if match and method == route_method:
            return operation, match.groupdict()
    return None


def create_app(sim: Simulator, *, wall_clock: Clock | None = None) -> ASGIApp:
    """The ASGI app for `sim`. `wall_clock` (default: system time) judges X-Sdk-Date freshness."""
    wall = wall_clock or SystemClock()
    lists = render.ListRenderer()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            request = await _read_request(scope, receive)
            await _Exchange(sim, wall, lists, request, receive, send).run()

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_request(scope: Scope, receive: Receive) -> Request:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return Request(
        method=scope["method"],
        path=scope["path"],
        raw_path=raw_path.decode("latin-1"),
        query=parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        body=b"".join(chunks),
    )


class _Exchange:
    """One request/response: the steps of the module docstring, in order."""

    def __init__(
        self,
        sim: Simulator,
        wall: Clock,
        lists: render.ListRenderer,
        request: Request,
        receive: Receive,
        send: Send,
    ) -> None:
        self.sim, self.wall, self.lists, self.request = sim, wall, lists, request
        self.receive, self.send = receive, send
        self.request_id = uuid.uuid4().hex

    async def run(self) -> None:
        with self.sim.lock:
            self.sim.catch_up()
        credential = credential_routes.find(self.request.method, self.request.path)
        if credential is not None:  # metadata, pod identity, IAM federation: their own checks
            await self.respond(credential_routes.answer(self.sim, credential, self.request))
            return
        if self.request.method == "GET" and self.request.path == smn.INSPECT_PATH:
            await self.respond(smn.inspect(self.sim.smn))  # the emulator's own test hook
            return
        routed = route(self.request.method, self.request.path)
        if routed is None:
            self.sim.counts["not_found"] += 1
            msg = "The API does not exist or has not been published in the environment"
            await self.respond(self.error(404, "APIGW.0101", msg))
            return
        operation, params = routed
        if operation != "iam_token":
            denied = check_dws_request(self.sim, self.request, params["project"], self.wall.now())
            if denied is not None:
                self.sim.counts["unauthorized"] += 1
                await self.respond(self.denied(denied))
                return
        if operation in cloudeye.OPERATIONS:
            await self.cloud_eye(operation)
            return
        if operation == smn.PUBLISH:
            await self.publish(params["topic"])
            return
        fault = self.sim.faults.take(operation)
        if fault is not None and fault.kind in CANNED_KINDS | {"timeout", "reset"}:
            self.sim.counts[operation] += 1
            await self.misbehave(fault, operation)
            return
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.seconds())
        count_as, reply = self.answer(operation, params)
        self.sim.counts[count_as] += 1
        if fault is not None and fault.kind == "lost_response":
            await self.lose(fault)
        else:
            await self.respond(reply)

    def answer(self, operation: str, params: dict[str, str]) -> tuple[str, Reply]:
        """The world's answer and the counter it goes under (the operation, or a rejection)."""
        sim = self.sim
        with sim.lock:
            sim.catch_up()
            if operation == "iam_token":
                return self.token_reply()
            if operation == "list_clusters":
                return operation, self.list_reply()
            try:
                cluster = sim.cluster(params["cluster"])
            except ClusterNotFound:
                return "not_found", self.not_found(params["cluster"])
            if operation == "get_cluster":
                return operation, json_reply(200, {"cluster": render.detail(cluster, sim.now)})
            try:
                sim.switchover(cluster.id)
            except SwitchoverRefused as exc:
                return operation, self.error(400, exc.code, str(exc))
            return operation, json_reply(200, {})

    async def cloud_eye(self, operation: str) -> None:
        """A CES call: its own faults (a timeout hangs like DWS's), then the curves' datapoints."""
        self.sim.counts[operation] += 1
        fault = self.sim.cloud_eye.take()
        if fault is not None and fault.kind == "timeout":
            await self.hang(fault.seconds)
            return
        with self.sim.lock:
            self.sim.catch_up()
            nodes = {
                c.id: [n["id"] for n in render.detail(c, self.sim.now)["nodes"]]
                for c in self.sim.clusters
            }
            reply = cloudeye.answer(
                self.sim.cloud_eye, operation, self.request, nodes, self.sim.now, fault
            )
        await self.respond(reply)

    async def publish(self, topic_urn: str) -> None:
        """An SMN publish: its own faults (a timeout hangs like DWS's), then the message is kept."""
        self.sim.counts[smn.PUBLISH] += 1
        fault = self.sim.smn.take()
        if fault is not None and fault.kind == "timeout":
            await self.hang(fault.seconds)
            return
        if fault is not None:
            code = f"SMN.{fault.status}"
            reply = smn.error(fault.status, code, "injected fault", self.request_id)
        else:
            with self.sim.lock:
                self.sim.catch_up()
                now = self.sim.now
            reply = smn.answer(self.sim.smn, topic_urn, self.request, now, self.request_id)
        await self.respond(reply)

    def list_reply(self) -> Reply:
        wanted = self.request_param("enterprise_project_id")
        everything = wanted in (None, "", "all_granted_eps")
        chosen = [c for c in self.sim.clusters if everything or c.enterprise_project_id == wanted]
        body = self.lists.body(chosen, self.sim.now)
        return Reply(200, body, (("Content-Type", "application/json"),))

    def token_reply(self) -> tuple[str, Reply]:
        outcome = issue_token(self.sim, self.request.body)
        if isinstance(outcome, Issued):
            return "iam_token", json_reply(201, outcome.body, (("X-Subject-Token", outcome.token),))
        return ("unauthorized" if outcome.status == 401 else "iam_token"), self.denied(outcome)

    def request_param(self, name: str) -> str | None:
        return next((v for k, v in self.request.query if k == name), None)

    def not_found(self, cluster_id: str) -> Reply:
        # DWS answers a well-formed but unknown UUID with 404 DWS.0047, anything else with 400 DWS.0001.
        if _UUID_RE.match(cluster_id):
            return self.error(404, "DWS.0047", f"The cluster {cluster_id} does not exist.")
        return self.error(400, "DWS.0001", f"Invalid cluster ID {cluster_id}: not found.")

    def error(self, status: int, code: str, message: str) -> Reply:
        body = {"error_code": code, "error_msg": message, "request_id": self.request_id}
        return json_reply(status, body)

    def denied(self, denied: Denied) -> Reply:
        if "error_code" in denied.body:
            return json_reply(denied.status, {**denied.body, "request_id": self.request_id})
        return json_reply(denied.status, denied.body)

    async def misbehave(self, fault: Fault, operation: str) -> None:
        if fault.kind == "reset":
            await self.drop()
        elif fault.kind == "timeout":
            await self.hang(fault.seconds())
        else:
            await self.respond(canned(fault, operation))

    async def lose(self, fault: Fault) -> None:
        if fault.params.get("mode", "reset") == "timeout":
            await self.hang(fault.seconds())
        else:
            await self.drop()

    async def respond(self, reply: Reply) -> None:
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        headers.append(("X-Request-Id", self.request_id))
        await self.send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            }
        )
        await self.send({"type": "http.response.body", "body": reply.body, "more_body": False})

    async def drop(self) -> None:
        """Start a response, send part of it, then break the connection (ConnectionDropped)."""
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(PROMISED_LENGTH).encode()),
            (b"x-request-id", self.request_id.encode()),
        ]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})
        await self.send({"type": "http.response.body", "body": PARTIAL_BODY, "more_body": True})
        raise ConnectionDropped("the emulator dropped the connection on purpose (fault)")

    async def hang(self, seconds: float) -> None:
        """Say nothing until the client goes away; after `seconds`, drop the connection."""

        async def client_gone() -> None:
            while (await self.receive())["type"] != "http.disconnect":
                pass

        try:
            await asyncio.wait_for(client_gone(), seconds)
        except TimeoutError:
            await self.drop()
