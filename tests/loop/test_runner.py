"""The runner: bad cycles are survived and backed off, stop is prompt, an in-flight POST completes."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
import stamina
from loopkit import MONDAY_0050_CST, World

from controller.app.bootstrap import assemble
from controller.clock import ManualClock, ScaledClock
from controller.http.server import HttpServer, create_app
from controller.http.status import ControllerStatus
from controller.loop.runner import Runner, error_kind
from controller.record.metrics import Metrics

SPEED = 600.0  # a 60 s poll interval lasts 0.1 s of real time


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=2)
    yield
    stamina.set_testing(False)


@pytest.fixture
def fast_world(world: World) -> World:
    world.clock = ScaledClock(MONDAY_0050_CST, SPEED)  # type: ignore[assignment]
    world.sim.clock = world.clock
    return world


async def run_until(runner: Runner, stop: asyncio.Event, condition: object, timeout: float) -> None:
    task = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # type: ignore[operator]
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_a_failing_cycle_is_counted_backed_off_and_survived(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales")
    world.sim.faults.inject("list_clusters", "html_503", times=4)  # two cycles × two attempts
    async with world.controller() as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=SPEED, rng=random.Random(7))
        await run_until(runner, asyncio.Event(), lambda: runner.last_success is not None, 10)
    assert world.sim.counts["list_clusters"] >= 5
    assert runner.failures == 0
    scrape = parts.metrics.registry.get_sample_value(
        "dws_rebalancer_cycle_errors_total", {"kind": "dws_api"}
    )
    assert scrape == 2


async def test_stop_while_sleeping_returns_promptly(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales")
    async with world.controller(poll_interval="1h") as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=1.0)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while runner.last_success is None:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=1)


async def test_stop_lets_an_in_flight_post_complete_and_be_journaled(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.faults.inject("switchover", "latency", seconds=0.5)
    policy = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}
    async with world.controller(policy=policy) as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=SPEED)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while not parts.journal.in_flight():  # journaled just before the POST is sent
            await asyncio.sleep(0.005)
        stop.set()  # the POST is on the wire now
        await asyncio.wait_for(task, timeout=10)
        [record] = parts.journal.in_flight()
        assert record.confirmed, "the answer arrived after stop and was recorded"
        assert parts.reconciler.stopping
    assert world.sim.counts["switchover"] == 1


async def test_tracking_polls_fast_and_only_the_tracked_cluster(fast_world: World) -> None:
    world = fast_world
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=120)
    world.sim.add_cluster(id="c2", name="etl")
    policy = {"windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s"}
    async with world.controller(
        policy=policy, poll_interval="10m", tracking_interval="5s"
    ) as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=SPEED)
        await run_until(
            runner,
            asyncio.Event(),
            lambda: parts.journal.switchovers() and not parts.reconciler.tracked,
            10,
        )
        [record] = parts.journal.switchovers()
    assert record.outcome is not None
    assert record.outcome.value == "succeeded"
    assert world.sim.counts["list_clusters"] == 1, "tracking does not list the project"
    # 120 s of switchover at a 5 s tracking interval: ~24 reads, fewer when the scaled clock runs
    # ahead of a loaded machine; a 10m poll would give at most one.
    assert world.sim.counts["get_cluster"] >= 3


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("AuthenticationError", "dws_auth"),
        ("ServerError", "dws_api"),
        ("DwsTransportError", "dws_transport"),
        ("MalformedResponseError", "malformed_response"),
    ],
)
def test_error_kinds(error: str, kind: str) -> None:
    import controller.dws.errors as errors

    cls = getattr(errors, error)
    exc = cls.__new__(cls)
    assert error_kind(exc) == kind


def test_internal_errors_are_their_own_kind() -> None:
    assert error_kind(RuntimeError("bug")) == "internal"


# ---- liveness: /healthz says whether the LOOP is alive, whatever DWS does ----------------------


class Outage(httpx.AsyncBaseTransport):
    """DWS down: every request costs `cost` seconds of the manual clock, then fails to connect.

    With one attempt per read, `cost` = retry budget + request timeout is the longest a failing
    read can legitimately take (its last attempt starting just before the budget runs out).
    """

    def __init__(
        self, clock: ManualClock, cost: float, probe: Callable[[], Awaitable[None]]
    ) -> None:
        self.clock, self.cost, self.probe = clock, cost, probe

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.probe()
        self.clock.advance(self.cost)
        await self.probe()  # the oldest this cycle attempt gets
        raise httpx.ConnectError("connection refused", request=request)


class Hang(httpx.AsyncBaseTransport):
    """A request that never ends (until released): the loop is stuck inside a cycle."""

    def __init__(self) -> None:
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        await self.release.wait()
        raise httpx.ConnectError("connection refused", request=request)


@contextlib.asynccontextmanager
async def served(runner: Runner, metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    """The runner's /healthz, /readyz and /status on a real socket."""
    server = HttpServer(create_app(metrics, ControllerStatus(runner)), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield http
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("poll_interval", "outage"),
    [("1m", 3600), ("5s", 1800)],
    ids=["chart-default-1h", "5s-30m"],
)
async def test_healthz_stays_200_through_a_long_dws_outage(
    world: World, poll_interval: str, outage: float
) -> None:
    stamina.set_testing(True, attempts=1)  # one attempt that costs the whole budget (below)
    clock, settings = world.clock, world.make_settings(poll_interval=poll_interval)
    end = clock.monotonic() + outage
    verdicts: list[tuple[bool, str]] = []
    http_codes: list[int] = []
    http: httpx.AsyncClient | None = None
    status: ControllerStatus | None = None

    async def probe(over_http: bool = False) -> None:
        if status is not None:
            verdicts.append(status.health())
        if over_http and http is not None:  # the worst moments, also through the socket
            http_codes.append((await http.get("/healthz")).status_code)

    async def manual_sleep(stop: asyncio.Event, seconds: float) -> None:
        await probe()  # just after a cycle attempt failed
        clock.advance(seconds)  # the whole back-off passes
        await probe(over_http=True)  # the longest the loop goes without a turn
        if clock.monotonic() >= end:
            stop.set()

    read_cost = 30.0 + settings.request_timeout.total_seconds()  # budget + last timeout
    transport = Outage(clock, read_cost, probe)
    async with assemble(settings, clock=clock, auth_clock=clock, transport=transport) as parts:
        assert parts.client.retry.budget == 30.0
        runner = Runner(parts.reconciler, clock, sleep=manual_sleep)
        status = ControllerStatus(runner)
        async with served(runner, parts.metrics) as http:
            await asyncio.wait_for(runner.run(asyncio.Event()), timeout=30)
            readiness = await http.get("/readyz")
    rounds = outage / (4 * 1.1 * settings.poll_interval.total_seconds() + read_cost)
    assert runner.failures >= int(rounds), "the outage lasted many maximal back-off rounds"
    assert runner.last_success is None
    assert readiness.status_code == 503, "/readyz is the one that reports DWS trouble"
    assert len(verdicts) >= 4 * runner.failures
    assert [v for v in verdicts if v != (True, "ok")] == []
    assert http_codes == [200] * runner.failures


async def test_healthz_turns_503_when_a_cycle_hangs_beyond_the_limit(world: World) -> None:
    clock, transport = world.clock, Hang()
    async with assemble(world.make_settings(), clock=clock, transport=transport) as parts:
        runner = Runner(parts.reconciler, clock)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        async with served(runner, parts.metrics) as http:
            await asyncio.wait_for(transport.entered.wait(), timeout=5)
            limit = runner.liveness_limit()
            clock.advance(limit - 1)
            assert (await http.get("/healthz")).status_code == 200, "a slow cycle is still alive"
            clock.advance(2)
            response = await http.get("/healthz")
        transport.release.set()
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert response.status_code == 503
    assert (
        response.text
        == f"loop stuck: current step (cycle or tracking read) started {limit + 1:.0f}s ago (limit {limit:.0f}s)\n"
    )


async def test_healthz_turns_503_when_the_loop_stops_turning_between_cycles(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales")
    clock = world.clock

    async def stuck(stop: asyncio.Event, seconds: float) -> None:
        await stop.wait()  # never wakes for the next poll

    async with world.controller() as parts:
        runner = Runner(parts.reconciler, clock, sleep=stuck)
        status = ControllerStatus(runner)
        assert status.health() == (False, "loop not started")
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        while runner.last_cycle is None:
            await asyncio.sleep(0.005)
        clock.advance(runner.liveness_limit())
        alive = status.health()
        clock.advance(1)
        stuck_verdict = status.health()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert alive == (True, "ok")
    assert stuck_verdict[0] is False
    assert stuck_verdict[1].startswith("loop stuck: last loop turn ended")


@pytest.mark.parametrize(
    ("poll_interval", "time_scale", "limit"),
    [
        # max back-off 4 × poll × 1.1 jitter, + retry budget 30 s + request timeout 10 s + 60 s
        ("1m", 1.0, 264 + 100),  # the chart default: about 6 minutes
        ("5s", 1.0, 22 + 100),
        ("1m", 60.0, 264 + 100 * 60),  # the demo: real-time bounds in accelerated seconds
    ],
)
async def test_liveness_limit_covers_the_longest_legitimate_pause(
    world: World, poll_interval: str, time_scale: float, limit: float
) -> None:
    async with world.controller(poll_interval=poll_interval) as parts:
        runner = Runner(parts.reconciler, world.clock, time_scale=time_scale)
        assert runner.liveness_limit() == pytest.approx(limit)
