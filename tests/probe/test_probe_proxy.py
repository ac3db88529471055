"""The emulator's TCP proxy over real sockets: forwards, refuses, stalls, and follows switchovers."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from controller.clock import ManualClock, SystemClock
from controller.simulator.proxy import OutagePlan, TcpProxy, attach
from controller.simulator.world import Simulator, SimulatorError

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A real echo server on 127.0.0.1, in a thread of its own."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    stop.set()
    thread.join()
    server.close()


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def roundtrip(port: int, data: bytes = b"ping") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(data)), 5)
    finally:
        writer.close()


async def test_open_forwards_both_ways(echo: tuple[str, int]) -> None:
    with TcpProxy(echo, SystemClock()) as proxy:
        assert await roundtrip(proxy.port) == b"ping"
        assert proxy.mode == "open"
        assert proxy.outages() == []


async def test_refuse_refuses_new_connections_and_resets_open_ones(echo: tuple[str, int]) -> None:
    with TcpProxy(echo, SystemClock()) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"
        await asyncio.to_thread(proxy.refuse)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"b")
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 5)  # reset, not answered
        writer.close()
        await asyncio.to_thread(proxy.restore)
        assert await roundtrip(proxy.port) == b"ping"  # the same port, listening again
        [outage] = proxy.outages()
        assert outage.mode == "refuse"
        assert outage.seconds is not None
        assert outage.seconds > 0


async def test_stall_accepts_but_forwards_nothing_until_it_ends(echo: tuple[str, int]) -> None:
    with TcpProxy(echo, SystemClock()) as proxy:
        old_reader, old_writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        old_writer.write(b"1")
        assert await old_reader.readexactly(1) == b"1"
        await asyncio.to_thread(proxy.stall)
        new_reader, new_writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        for writer in (old_writer, new_writer):
            writer.write(b"held")
            await writer.drain()
        for reader in (old_reader, new_reader):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.readexactly(4), 0.3)
        await asyncio.to_thread(proxy.restore)
        # the held bytes go through once the stall ends, on both connections
        for reader in (old_reader, new_reader):
            assert await asyncio.wait_for(reader.readexactly(4), 5) == b"held"
        for writer in (old_writer, new_writer):
            writer.close()
        assert [o.mode for o in proxy.outages()] == ["stall"]


def test_scheduled_windows_follow_the_clock(echo: tuple[str, int]) -> None:
    clock = ManualClock(T0)
    with TcpProxy(echo, clock) as proxy:
        proxy.schedule("stall", T0 + dt.timedelta(seconds=2), T0 + dt.timedelta(seconds=5))
        clock.advance(1)
        time.sleep(0.1)  # a few of the proxy's ticks: nothing due yet
        assert proxy.mode == "open"
        clock.advance(1)
        until(lambda: proxy.mode == "stall")
        clock.advance(3)
        until(lambda: proxy.mode == "open")
        [outage] = proxy.outages()
        assert outage.seconds == pytest.approx(3.0)  # on the clock's monotonic time
        with pytest.raises(SimulatorError, match="bad outage window"):
            proxy.schedule("open", T0, T0 + dt.timedelta(seconds=1))


def test_each_switchover_of_a_planned_cluster_cuts_the_proxy(echo: tuple[str, int]) -> None:
    clock = ManualClock(T0)
    sim = Simulator(clock, project_id="p", ak="ak", sk="sk")
    sim.add_cluster(id="c1", name="dws-sales", switchover_base_seconds=20)
    sim.add_cluster(id="c2", name="dws-other", switchover_base_seconds=20)
    with TcpProxy(echo, clock) as proxy:
        attach(sim, proxy, OutagePlan("dws-sales", "refuse", after=4, length=6))
        sim.unbalance("c2")
        sim.switchover("c2")  # not planned: no outage
        sim.unbalance("c1")
        sim.switchover("c1")
        clock.advance(3)
        time.sleep(0.1)
        assert proxy.mode == "open"
        clock.advance(1)
        until(lambda: proxy.mode == "refuse")
        clock.advance(6)
        until(lambda: proxy.mode == "open")
        assert [(o.mode, o.seconds) for o in proxy.outages()] == [("refuse", pytest.approx(6.0))]


@pytest.mark.parametrize(
    ("mode", "after", "length"), [("open", 0, 1), ("stall", -1, 1), ("refuse", 0, 0)]
)
def test_bad_outage_plans_are_refused(mode: str, after: float, length: float) -> None:
    with pytest.raises(SimulatorError):
        OutagePlan("c1", mode, after, length)  # type: ignore[arg-type]
