"""Every emulator fault kind, as the client sees it: the typed error, the retries, the POST count."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from dwskit import BALANCED, PROJECT, TIMEOUT, UNBALANCED, ClientFactory, aksk, iam_auth

from controller.clock import ManualClock
from controller.dws.client import DwsClient
from controller.dws.errors import (
    AuthenticationError,
    BadRequestError,
    DwsTransportError,
    MalformedResponseError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
)
from controller.dws.retry import RetryPolicy
from controller.model import SWITCHOVER_TASK
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

MAX_ATTEMPTS = RetryPolicy().max_attempts


async def test_no_fault_baseline(sim: Simulator, in_process: ClientFactory) -> None:
    client = in_process()
    clusters = {c.id: c for c in await client.list_clusters()}
    assert clusters[UNBALANCED].unbalanced
    assert not clusters[BALANCED].unbalanced
    assert dict(clusters[UNBALANCED].tags) == {"team": "a"}
    assert sim.counts["list_clusters"] == 1


# Faults that a read survives: one failure, then the retry gets the real answer.
TRANSIENT = [
    pytest.param("status", {"status": 500}, id="status 500"),
    pytest.param("status", {"status": 502, "body": "Bad Gateway"}, id="status 502 text"),
    pytest.param("html_503", {}, id="html_503"),
    pytest.param("throttle", {"retry_after": 1}, id="throttle"),
    pytest.param("empty", {}, id="empty 500"),
    pytest.param("alt_error", {"status": 503, "shape": "camel"}, id="alt_error 503"),
    pytest.param("timeout", {}, id="timeout"),
    pytest.param("reset", {}, id="reset"),
    pytest.param("latency", {"seconds": 5 * TIMEOUT}, id="latency past the timeout"),
]


@pytest.mark.parametrize(("kind", "params"), TRANSIENT)
@pytest.mark.parametrize("operation", ["list_clusters", "get_cluster"])
async def test_reads_retry_through_transient_faults(
    sim: Simulator, in_process: ClientFactory, operation: str, kind: str, params: dict[str, Any]
) -> None:
    sim.faults.inject(operation, kind, **params)
    client = in_process()
    if operation == "list_clusters":
        assert len(await client.list_clusters()) == 2
    else:
        assert (await client.get_cluster(UNBALANCED)).unbalanced
    assert not sim.faults.pending
    # A latency fault cancelled by the client's timeout never reached the counter.
    assert sim.counts[operation] == (1 if kind == "latency" else 2)


async def test_short_latency_is_just_slow(sim: Simulator, in_process: ClientFactory) -> None:
    sim.faults.inject("list_clusters", "latency", seconds=TIMEOUT / 10)
    assert len(await in_process().list_clusters()) == 2
    assert sim.counts["list_clusters"] == 1


@pytest.mark.parametrize(
    ("kind", "params", "error", "message"),
    [
        ("status", {"status": 500}, ServerError, "HTTP 500 SIM.500"),
        ("html_503", {}, ServerError, "HTTP 503: HTTP 503 with a non-JSON body (text/html)"),
        ("throttle", {"retry_after": 1}, ThrottledError, "HTTP 429 APIGW.0308"),
        ("empty", {}, ServerError, "HTTP 500: HTTP 500 with an empty body"),
        ("timeout", {}, DwsTransportError, "timed out (ReadTimeout"),
        ("reset", {}, DwsTransportError, "connection failed (RemoteProtocolError"),
    ],
)
async def test_persistent_transient_faults_exhaust_the_retries(
    sim: Simulator,
    in_process: ClientFactory,
    kind: str,
    params: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    sim.faults.inject("list_clusters", kind, times=None, **params)
    with pytest.raises(error, match=r"^list_clusters failed: ") as info:
        await in_process(timeout=TIMEOUT / 5).list_clusters()
    assert message in str(info.value)
    assert sim.counts["list_clusters"] == MAX_ATTEMPTS


async def test_throttle_waits_what_retry_after_says(
    sim: Simulator, in_process: ClientFactory
) -> None:
    """The wait is computed from the header (stamina's test mode then skips the actual sleep)."""
    sim.faults.inject("list_clusters", "throttle", retry_after=7)
    client = in_process()
    with pytest.raises(ThrottledError) as info:
        await in_process(retry_budget=5.0).list_clusters()  # 7 s would overrun a 5 s budget
    assert info.value.retry_after == 7.0
    assert RetryPolicy().wait(1, info.value) == 7.0
    sim.faults.inject("list_clusters", "throttle", retry_after=7)
    assert len(await client.list_clusters()) == 2  # within the default 30 s budget: retried
    assert sim.counts["list_clusters"] == 3


@pytest.mark.parametrize(
    ("operation", "kind", "params", "error", "message"),
    [
        ("list_clusters", "status", {"status": 403}, PermissionDeniedError, "HTTP 403 SIM.403"),
        (
            "list_clusters",
            "status",
            {"status": 400, "body": {"code": "X.1", "message": "m"}},
            BadRequestError,
            "X.1: m",
        ),
        (
            "list_clusters",
            "alt_error",
            {"status": 400, "code": "DWS.0001", "message": "bad"},
            BadRequestError,
            "DWS.0001: bad",
        ),
        (
            "list_clusters",
            "alt_error",
            {"status": 401, "shape": "camel", "code": "APIGW.0301"},
            AuthenticationError,
            "APIGW.0301",
        ),
        (
            "list_clusters",
            "empty",
            {"status": 200},
            MalformedResponseError,
            "HTTP 200 with an empty body",
        ),
        ("list_clusters", "malformed", {}, MalformedResponseError, "not JSON (application/json)"),
        (
            "list_clusters",
            "wrong_shape",
            {},
            MalformedResponseError,
            "'clusters' is str, expected a list",
        ),
        ("get_cluster", "malformed", {}, MalformedResponseError, "not JSON"),
        (
            "get_cluster",
            "wrong_shape",
            {},
            MalformedResponseError,
            "must be a JSON object, got list",
        ),
        ("get_cluster", "status", {"status": 404}, Exception, "HTTP 404"),
    ],
)
async def test_definite_faults_raise_at_once(
    sim: Simulator,
    in_process: ClientFactory,
    operation: str,
    kind: str,
    params: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    sim.faults.inject(operation, kind, **params)
    client = in_process()
    call = (
        client.list_clusters() if operation == "list_clusters" else client.get_cluster(UNBALANCED)
    )
    with pytest.raises(error) as info:
        await call
    assert message in str(info.value)
    assert sim.counts[operation] == 1


async def test_wildcard_fault_hits_any_operation(sim: Simulator, in_process: ClientFactory) -> None:
    sim.faults.inject("*", "status", times=2, status=403)
    client = in_process()
    with pytest.raises(PermissionDeniedError):
        await client.get_cluster(UNBALANCED)
    with pytest.raises(PermissionDeniedError):
        await client.switchover(UNBALANCED)
    assert sim.switchovers == []


# A switchover whose outcome the client cannot know: reported as unknown, POSTed exactly once.
AMBIGUOUS = [
    pytest.param("timeout", {}, 0, id="timeout"),
    pytest.param("reset", {}, 0, id="reset"),
    pytest.param("html_503", {}, 0, id="html_503"),
    pytest.param("status", {"status": 500}, 0, id="status 500"),
    pytest.param("empty", {}, 0, id="empty 500"),
    pytest.param("lost_response", {}, 1, id="lost_response reset"),
    pytest.param("lost_response", {"mode": "timeout"}, 1, id="lost_response timeout"),
    pytest.param("latency", {"seconds": 5 * TIMEOUT}, 0, id="latency past the timeout"),
]


@pytest.mark.parametrize(("kind", "params", "applied"), AMBIGUOUS)
async def test_ambiguous_switchover_is_sent_once_and_unknown(
    sim: Simulator, in_process: ClientFactory, kind: str, params: dict[str, Any], applied: int
) -> None:
    sim.faults.inject("switchover", kind, times=None, **params)
    client = in_process()
    ack = await client.switchover(UNBALANCED)
    assert ack.accepted is None
    assert ack.detail.startswith("outcome unknown: ")
    assert len(sim.switchovers) == applied
    assert sim.counts["switchover"] == (0 if kind == "latency" else 1)
    sim.faults.clear()
    # Reading back is how the caller learns the truth.
    assert (await client.get_cluster(UNBALANCED)).switching is bool(applied)


@pytest.mark.parametrize(
    ("kind", "params", "error"),
    [
        ("throttle", {}, ThrottledError),
        (
            "status",
            {"status": 400, "body": {"error_code": "DWS.0112", "error_msg": "abnormal"}},
            BadRequestError,
        ),
        ("status", {"status": 401}, AuthenticationError),
        ("status", {"status": 403}, PermissionDeniedError),
    ],
)
async def test_refused_switchover_raises_and_is_not_retried(
    sim: Simulator,
    in_process: ClientFactory,
    kind: str,
    params: dict[str, Any],
    error: type[Exception],
) -> None:
    sim.faults.inject("switchover", kind, times=None, **params)
    with pytest.raises(error):
        await in_process().switchover(UNBALANCED)
    assert sim.counts["switchover"] == 1
    assert sim.switchovers == []


@pytest.mark.parametrize(
    ("kind", "params"),
    [("empty", {"status": 200}), ("malformed", {}), ("wrong_shape", {})],
)
async def test_switchover_200_is_accepted_whatever_the_body(
    sim: Simulator, in_process: ClientFactory, kind: str, params: dict[str, Any]
) -> None:
    sim.faults.inject("switchover", kind, **params)
    ack = await in_process().switchover(UNBALANCED)
    assert ack.accepted is True
    assert sim.counts["switchover"] == 1


async def test_real_state_conflict_from_the_world(
    sim: Simulator, in_process: ClientFactory
) -> None:
    client = in_process()
    assert (await client.switchover(UNBALANCED)).accepted is True
    with pytest.raises(BadRequestError) as info:
        await client.switchover(UNBALANCED)  # already switching
    assert info.value.state_conflict
    assert len(sim.switchovers) == 1


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("status", {"status": 500}, "HTTP 500"),
        ("html_503", {}, "non-JSON body (text/html)"),
        ("throttle", {}, "APIGW.0308"),
        ("empty", {"status": 201}, "without an X-Subject-Token"),
        ("malformed", {}, "without an X-Subject-Token"),
        ("wrong_shape", {}, "without an X-Subject-Token"),
        ("alt_error", {"status": 401, "message": "locked"}, "locked"),
    ],
)
async def test_iam_faults_are_authentication_errors(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    kind: str,
    params: dict[str, Any],
    message: str,
) -> None:
    sim.faults.inject("iam_token", kind, **params)
    with pytest.raises(AuthenticationError, match=r"^iam_token failed") as info:
        await in_process(auth=iam_auth(clock)).switchover(UNBALANCED)
    assert message in str(info.value)
    assert sim.counts["switchover"] == 0


@pytest.mark.parametrize("kind", ["timeout", "reset"])
async def test_iam_connection_failure_means_the_switchover_was_not_sent(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, kind: str
) -> None:
    sim.faults.inject("iam_token", kind)
    client = in_process(auth=iam_auth(clock))
    with pytest.raises(DwsTransportError) as info:
        await client.switchover(UNBALANCED)
    assert info.value.sent is False
    assert sim.counts["switchover"] == 0
    assert len(await client.list_clusters()) == 2  # reads recover: the login is retried


async def test_on_request_names_iam_and_faults(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    seen: list[tuple[str, str]] = []
    sim.faults.inject("list_clusters", "timeout")
    sim.faults.inject("list_clusters", "reset")
    client = in_process(
        auth=iam_auth(clock), on_request=lambda op, code, _s: seen.append((op, code))
    )
    await client.list_clusters()
    assert seen == [
        ("iam_token", "201"),
        ("list_clusters", "timeout"),
        ("list_clusters", "connection_error"),
        ("list_clusters", "200"),
    ]


# The same connection-level faults once more over a real loopback socket.


def _socket_client(url: str, **kwargs: object) -> DwsClient:
    options: dict[str, Any] = {"timeout": 2 * TIMEOUT, **kwargs}
    return DwsClient(endpoint=url, project_id=PROJECT, auth=aksk(), **options)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["timeout", "reset"])
async def test_socket_reads_retry_timeouts_and_resets(
    server: BackgroundServer, sim: Simulator, kind: str
) -> None:
    seen: list[str] = []
    sim.faults.inject("list_clusters", kind)
    async with _socket_client(
        server.url, on_request=lambda _op, code, _s: seen.append(code)
    ) as client:
        assert len(await client.list_clusters()) == 2
    assert seen == ["timeout" if kind == "timeout" else "connection_error", "200"]
    assert sim.counts["list_clusters"] == 2


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("kind", "params", "applied"),
    [
        ("timeout", {}, 0),
        ("reset", {}, 0),
        ("lost_response", {}, 1),
        ("lost_response", {"mode": "timeout"}, 1),
    ],
)
async def test_socket_ambiguous_switchover_is_sent_once(
    server: BackgroundServer, sim: Simulator, kind: str, params: dict[str, Any], applied: int
) -> None:
    sim.faults.inject("switchover", kind, times=None, **params)
    async with _socket_client(server.url) as client:
        ack = await client.switchover(UNBALANCED)
        assert ack.accepted is None
        sim.faults.clear()
        cluster = await client.get_cluster(UNBALANCED)
    assert sim.counts["switchover"] == 1
    assert len(sim.switchovers) == applied
    assert (cluster.task_status == SWITCHOVER_TASK) is bool(applied)


@pytest.mark.e2e
async def test_socket_connection_refused_is_definitely_not_sent() -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with _socket_client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(DwsTransportError) as info:
            await client.switchover(UNBALANCED)
        assert info.value.sent is False
        with pytest.raises(DwsTransportError, match="connection failed"):
            await client.list_clusters()
