"""DwsClient over a scripted fake transport: requests, retries and budget, the switchover rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from controller.app.bootstrap import dws_client
from controller.clock import ManualClock
from controller.dws.auth import StaticTokenAuth
from controller.dws.client import DwsClient
from controller.dws.errors import (
    AuthenticationError,
    BadRequestError,
    DwsApiError,
    DwsTransportError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
)
from controller.dws.retry import RetryPolicy
from controller.settings import load_settings

CLUSTER = {
    "id": "c-1",
    "name": "dws-a",
    "status": "AVAILABLE",
    "sub_status": "UNBALANCED",
    "version": "8.2.1.230",
}
LIST_BODY = {"clusters": [CLUSTER], "count": 1}

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Script:
    """Answers requests from a list of steps in order; the last step repeats."""

    steps: list[Step]
    clock: ManualClock | None = None
    advance: float = 0.0  # seconds each request takes on the manual clock
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock is not None:
            self.clock.advance(self.advance)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise type(step)(str(step), request=request)  # type: ignore[call-arg]
        return step(request) if callable(step) else step


def _client(script: Script, clock: ManualClock, **kwargs: object) -> DwsClient:
    return DwsClient(
        endpoint="https://dws.test/",
        project_id="p1",
        auth=StaticTokenAuth(SecretStr("t")),
        transport=httpx.MockTransport(script),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def _error(status: int, code: str = "X.1", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error_code": code, "error_msg": "nope"}, headers=headers)


def ok(body: object = LIST_BODY) -> httpx.Response:
    return httpx.Response(200, json=body)


async def test_list_sends_the_documented_request(clock: ManualClock) -> None:
    script = Script([ok()])
    async with _client(script, clock, timeout=7.0, user_agent="ua/1") as client:
        clusters = await client.list_clusters("ep-1")
    assert [c.id for c in clusters] == ["c-1"]
    (request,) = script.requests
    assert request.method == "GET"
    assert str(request.url) == "https://dws.test/v1.0/p1/clusters?enterprise_project_id=ep-1"
    assert request.headers["User-Agent"] == "ua/1"
    assert request.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


async def test_detail_quotes_the_cluster_id(clock: ManualClock) -> None:
    script = Script([ok({"cluster": CLUSTER})])
    async with _client(script, clock) as client:
        cluster = await client.get_cluster("c/../1")
    assert cluster.id == "c-1"
    assert script.requests[0].url.raw_path == b"/v1.0/p1/clusters/c%2F..%2F1"


async def test_a_skipped_list_entry_is_logged(clock: ManualClock) -> None:
    script = Script([ok({"clusters": [CLUSTER, {"id": "bad"}], "count": 2})])
    async with _client(script, clock) as client:
        with capture_logs() as logs:
            clusters = await client.list_clusters()
    assert [c.id for c in clusters] == ["c-1"]
    assert [entry["event"] for entry in logs] == ["dws_cluster_skipped"]
    assert "clusters[1]: cluster bad: 'name' is missing" in logs[0]["problem"]


@pytest.mark.parametrize(
    "failure",
    [
        _error(500),
        _error(502),
        httpx.Response(503, text="<html>down</html>", headers={"Content-Type": "text/html"}),
        _error(429),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("reset"),
    ],
    ids=["500", "502", "503 html", "429", "read timeout", "connect error", "reset"],
)
async def test_reads_retry_transient_failures(clock: ManualClock, failure: Step) -> None:
    script = Script([failure, failure, ok()])
    async with _client(script, clock) as client:
        clusters = await client.list_clusters()
    assert [c.id for c in clusters] == ["c-1"]
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (_error(400), BadRequestError),
        (_error(401), AuthenticationError),
        (_error(403), PermissionDeniedError),
        (_error(404), NotFoundError),
        (_error(409), DwsApiError),
        (httpx.Response(200, text="{"), MalformedResponseError),
        (httpx.Response(200), MalformedResponseError),
        (ok({"clusters": "oops"}), MalformedResponseError),
    ],
    ids=["400", "401", "403", "404", "409", "bad json", "empty", "wrong shape"],
)
async def test_reads_do_not_retry_definite_failures(
    clock: ManualClock, failure: httpx.Response, error: type[Exception]
) -> None:
    script = Script([failure, ok()])
    async with _client(script, clock) as client:
        with pytest.raises(error):
            await client.list_clusters()
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (_error(503), ServerError),
        (_error(429), ThrottledError),
        (httpx.ConnectError("refused"), DwsTransportError),
    ],
)
async def test_exhausted_retries_raise_the_last_typed_error(
    clock: ManualClock, failure: Step, error: type[Exception]
) -> None:
    script = Script([failure])
    async with _client(script, clock) as client:
        with pytest.raises(error, match="list_clusters failed"):
            await client.list_clusters()
    assert len(script.requests) == RetryPolicy().max_attempts


async def test_retries_stop_when_the_budget_is_spent(clock: ManualClock) -> None:
    # Each attempt takes 4 s; after the third (t = 12 s) a 10 s budget is gone.
    script = Script([_error(503)], clock=clock, advance=4.0)
    async with _client(script, clock, retry_budget=10.0) as client:
        with pytest.raises(ServerError):
            await client.list_clusters()
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("retry_after", "attempts"),
    [
        ("5", 2),
        ("31", 1),
        ("Wed, 04 Mar 2026 05:06:17 GMT", 2),
        ("Wed, 04 Mar 2026 05:07:07 GMT", 1),
    ],
)
async def test_a_retry_after_longer_than_the_budget_is_not_waited_for(
    clock: ManualClock, retry_after: str, attempts: int
) -> None:
    script = Script([_error(429, headers={"Retry-After": retry_after}), ok()])
    async with _client(script, clock, retry_budget=30.0) as client:
        call = client.list_clusters()
        if attempts == 1:
            with pytest.raises(ThrottledError):
                await call
        else:
            await call
    assert len(script.requests) == attempts


def _throttled(retry_after: float | None) -> ThrottledError:
    error = ThrottledError(status=429, operation="list_clusters")
    error.retry_after = retry_after
    return error


@pytest.mark.parametrize(
    ("failures", "error", "expected"),
    [
        (1, _throttled(3.0), 3.0),
        (5, _throttled(3.0), 3.0),  # the server's hint, not the backoff
        (1, _throttled(500.0), 30.0),  # capped
        (1, _throttled(None), 0.5),  # no hint: backoff ceiling 0.5 × 2^0
        (3, _throttled(None), 2.0),
        (10, ServerError(status=503, operation="x"), 8.0),  # ceiling capped at wait_max
    ],
)
def test_computed_wait(failures: int, error: Exception, expected: float) -> None:
    # `uniform` returns its upper bound, so this checks the full-jitter ceiling exactly.
    assert RetryPolicy().wait(failures, error, uniform=lambda low, high: high) == expected


def test_full_jitter_draws_from_zero() -> None:
    draws: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        draws.append((low, high))
        return 0.25

    assert RetryPolicy().wait(2, ServerError(status=500, operation="x"), uniform=uniform) == 0.25
    assert draws == [(0.0, 1.0)]


@pytest.mark.parametrize(
    ("error", "elapsed", "verdict"),
    [
        (ServerError(status=503, operation="x"), 0.0, True),
        (_throttled(4.0), 0.0, 4.0),
        (_throttled(4.0), 26.5, False),  # the wait would end past the 30 s budget
        (ServerError(status=503, operation="x"), 30.0, False),
        (DwsTransportError("x", "timed out"), 0.0, True),
        (BadRequestError(status=400, operation="x"), 0.0, False),
        (MalformedResponseError("x"), 0.0, False),
    ],
)
def test_retry_hook_verdicts(
    clock: ManualClock, error: Exception, elapsed: float, verdict: bool | float
) -> None:
    hook = RetryPolicy(budget=30.0).hook(clock)
    clock.advance(elapsed)
    result = hook(error)
    if verdict is True:  # a jittered float within the budget
        assert isinstance(result, float)
        assert 0.0 <= result <= 0.5
    else:
        assert result == verdict


async def test_on_request_sees_every_attempt(clock: ManualClock) -> None:
    seen: list[tuple[str, str, float]] = []
    script = Script(
        [_error(503), httpx.ReadTimeout("slow"), httpx.ConnectError("no"), ok()],
        clock=clock,
        advance=0.25,
    )
    async with _client(script, clock, on_request=lambda *a: seen.append(a)) as client:
        await client.list_clusters()
    assert seen == [
        ("list_clusters", "503", 0.25),
        ("list_clusters", "timeout", 0.25),
        ("list_clusters", "connection_error", 0.25),
        ("list_clusters", "200", 0.25),
    ]


async def test_a_failing_on_request_hook_never_breaks_a_call(clock: ManualClock) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("metrics are down")

    async with _client(Script([ok()]), clock, on_request=broken) as client:
        with capture_logs() as logs:
            assert len(await client.list_clusters()) == 1
    assert [entry["event"] for entry in logs] == ["dws_request_hook_failed"]


SWITCHOVER_ANSWERS = [
    pytest.param(httpx.Response(200, json={}), True, id="200 {}"),
    pytest.param(httpx.Response(200), True, id="200 empty"),
    pytest.param(httpx.Response(202, text="whatever"), True, id="202"),
    pytest.param(_error(500), None, id="500"),
    pytest.param(
        httpx.Response(503, text="<html>x</html>", headers={"Content-Type": "text/html"}),
        None,
        id="503 html",
    ),
    pytest.param(_error(504), None, id="504"),
    pytest.param(httpx.ReadTimeout("slow"), None, id="read timeout"),
    pytest.param(httpx.WriteTimeout("slow"), None, id="write timeout"),
    pytest.param(httpx.RemoteProtocolError("reset"), None, id="reset"),
    pytest.param(httpx.ReadError("broken pipe"), None, id="read error"),
]


@pytest.mark.parametrize(("answer", "accepted"), SWITCHOVER_ANSWERS)
async def test_switchover_is_posted_once_and_reports_accepted_or_unknown(
    clock: ManualClock, answer: Step, accepted: bool | None
) -> None:
    script = Script([answer, ok({})])
    async with _client(script, clock) as client:
        ack = await client.switchover("c-1")
    assert ack.accepted is accepted
    assert len(script.requests) == 1
    (request,) = script.requests
    assert (request.method, request.url.path) == ("POST", "/v1.0/p1/clusters/c-1/switchover")
    if accepted is None:
        assert ack.detail.startswith("outcome unknown: ")


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_error(400, "DWS.0112"), BadRequestError),
        (_error(401), AuthenticationError),
        (_error(403), PermissionDeniedError),
        (_error(404), NotFoundError),
        (_error(429, headers={"Retry-After": "1"}), ThrottledError),
        (httpx.ConnectError("refused"), DwsTransportError),
        (httpx.ConnectTimeout("slow connect"), DwsTransportError),
        (httpx.PoolTimeout("pool"), DwsTransportError),
    ],
)
async def test_switchover_definite_refusals_raise_without_retry(
    clock: ManualClock, answer: Step, error: type[Exception]
) -> None:
    script = Script([answer, ok({})])
    async with _client(script, clock) as client:
        with pytest.raises(error) as info:
            await client.switchover("c-1")
    assert len(script.requests) == 1
    if isinstance(info.value, DwsTransportError):
        assert info.value.sent is False


async def test_switchover_state_conflict(clock: ManualClock) -> None:
    body = {"error_code": "DWS.0112", "error_msg": "Cluster state is abnormal."}
    script = Script([httpx.Response(400, json=body, headers={"X-Request-Id": "r-1"})])
    async with _client(script, clock) as client:
        with pytest.raises(BadRequestError) as info:
            await client.switchover("c-1")
    assert info.value.state_conflict
    assert info.value.request_id == "r-1"


async def test_switchover_ack_carries_the_request_id(clock: ManualClock) -> None:
    script = Script([httpx.Response(200, json={}, headers={"X-Request-Id": "r-2"})])
    async with _client(script, clock) as client:
        ack = await client.switchover("c-1")
    assert (ack.accepted, ack.request_id) == (True, "r-2")


def test_repr_has_no_secret() -> None:
    client = DwsClient(
        endpoint="https://d", project_id="p1", auth=StaticTokenAuth(SecretStr("tok-XYZ"))
    )
    assert "tok-XYZ" not in repr(client)
    assert json.dumps(repr(client))  # plain text


async def test_from_settings_takes_endpoint_project_and_timeout(clock: ManualClock) -> None:
    settings = load_settings(
        environ={
            "DWS_REBALANCER_ENDPOINT": "https://dws.cn-north-4.myhuaweicloud.com",
            "DWS_REBALANCER_PROJECT_ID": "p9",
            "DWS_REBALANCER_REQUEST_TIMEOUT": "3s",
            "DWS_REBALANCER_AUTH__TOKEN": "t",
        }
    )
    script = Script([ok()])
    client = dws_client(settings, clock, httpx.MockTransport(script))
    async with client:
        await client.list_clusters()
    (request,) = script.requests
    assert str(request.url) == "https://dws.cn-north-4.myhuaweicloud.com/v1.0/p9/clusters"
    assert request.extensions["timeout"]["read"] == 3.0


async def test_a_503_with_retry_after_is_honoured_too(clock: ManualClock) -> None:
    script = Script([_error(503, headers={"Retry-After": "45"}), ok()])
    async with _client(script, clock, retry_budget=20.0) as client:
        with pytest.raises(ServerError) as info:
            await client.list_clusters()  # even capped at 30 s it overruns the budget
    assert info.value.retry_after == 45.0
    assert len(script.requests) == 1
