"""A TCP proxy in front of a real database that the emulator's switchovers cut or stall.

Modes: `open` forwards; `refuse` closes the listening socket (new connections are refused) and
resets every open connection; `stall` keeps accepting but forwards no byte either way, for new
and existing connections alike, and lets the held bytes through when it ends, as a healed
network partition would. The proxy runs its own event loop in a thread, so the world's
switchover hook (called from whichever thread syncs the world) and a test's own loop never
wait on each other. Every mode change is recorded on the clock's monotonic time: the real
outage a probe's measurement is compared with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from controller.clock import Clock
from controller.simulator.cluster import Job, SimCluster, SimulatorError
from controller.simulator.world import Simulator

Mode = Literal["open", "refuse", "stall"]
OUTAGE_MODES = ("refuse", "stall")
_CHUNK = 65536


@dataclass(frozen=True)
class Outage:
    """One stretch the proxy spent refusing or stalling, in monotonic seconds."""

    mode: Mode
    started: float
    ended: float | None  # None: still going

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


@dataclass(frozen=True)
class OutagePlan:
    """For every switchover of `cluster` (id or name): `mode` from `after` s into it, for `length` s."""

    cluster: str
    mode: Mode
    after: float
    length: float

    def __post_init__(self) -> None:
        if self.mode not in OUTAGE_MODES:
            raise SimulatorError(f"outage mode must be one of {', '.join(OUTAGE_MODES)}")
        if self.after < 0 or self.length <= 0:
            raise SimulatorError("an outage starts at after >= 0 and lasts length > 0 seconds")


@dataclass(frozen=True)
class _Window:
    mode: Mode
    start: dt.datetime
    end: dt.datetime


class _Link:
    """One client connection and, once the proxy got through, its upstream connection."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.client = writer
        self.upstream: asyncio.StreamWriter | None = None
        self.task = asyncio.current_task()

    def reset(self) -> None:
        """RST the client (linger 0), drop the upstream: what a failing-over server does."""
        sock = self.client.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.client.transport.abort()
        if self.upstream is not None:
            self.upstream.transport.abort()


class TcpProxy:
    """Forwards host:port to `upstream`; `refuse()`, `stall()`, `restore()` or scheduled windows."""

    def __init__(
        self,
        upstream: tuple[str, int],
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tick: float = 0.02,
    ) -> None:
        self.upstream = upstream
        self.clock = clock
        self.host, self.port, self.tick = host, port, tick
        self.mode: Mode = "open"
        self.transitions: list[tuple[float, Mode]] = []
        self.accepted = 0
        self._manual: Mode = "open"
        self._windows: list[_Window] = []
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._ticker: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"TcpProxy({self.host}:{self.port} -> {self.upstream[0]}:{self.upstream[1]}, {self.mode})"

    # -- life -------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- control (from any thread but the proxy's own) --------------------------------------

    def refuse(self) -> None:
        self._set_manual("refuse")

    def stall(self) -> None:
        self._set_manual("stall")

    def restore(self) -> None:
        self._set_manual("open")

    def schedule(self, mode: Mode, start: dt.datetime, end: dt.datetime) -> None:
        """Be in `mode` while start <= clock.now() < end; thread-safe and non-blocking."""
        if mode not in OUTAGE_MODES or end <= start:
            raise SimulatorError(f"bad outage window: {mode} from {start} to {end}")
        with self._lock:
            self._windows.append(_Window(mode, start, end))

    def outages(self) -> list[Outage]:
        """Every refused or stalled stretch so far, from the recorded mode changes."""
        changes = list(self.transitions)
        ends: list[float | None] = [at for at, _ in changes[1:]]
        if not changes:
            return []
        return [
            Outage(mode, at, end)
            for (at, mode), end in zip(changes, [*ends, None], strict=True)
            if mode != "open"
        ]

    def _set_manual(self, mode: Mode) -> None:
        with self._lock:
            self._manual = mode
        self._call(self._apply(self._wanted()))

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        if threading.current_thread() is self._thread:
            coro.close()
            raise SimulatorError("the proxy's controls are for other threads")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    # -- inside the proxy's loop ------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()
        self._ticker = asyncio.create_task(self._tick())

    async def _close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self._unlisten()
        links = list(self._links)
        for link in links:
            link.reset()
            if link.task is not None:
                link.task.cancel()
        await asyncio.gather(*(link.task for link in links if link.task), return_exceptions=True)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def _wanted(self) -> Mode:
        now = self.clock.now()
        with self._lock:
            self._windows = [w for w in self._windows if w.end > now]
            active = [w for w in self._windows if w.start <= now]
            return active[-1].mode if active else self._manual

    async def _tick(self) -> None:
        while True:
            wanted = self._wanted()
            if wanted != self.mode:
                await self._apply(wanted)
            await asyncio.sleep(self.tick)

    async def _apply(self, mode: Mode) -> None:
        assert self._flowing is not None
        if mode == self.mode:
            return
        if mode == "refuse":
            await self._unlisten()
            for link in list(self._links):
                link.reset()
            self._flowing.set()  # whatever connects after the outage flows again
        else:
            await self._listen()
            if mode == "stall":
                self._flowing.clear()
            else:
                self._flowing.set()
        self.mode = mode
        self.transitions.append((self.clock.monotonic(), mode))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._gate()  # a stalled proxy accepts, and goes no further
            up_reader, link.upstream = await asyncio.open_connection(*self.upstream)
            await asyncio.gather(self._pump(reader, link.upstream), self._pump(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass  # either side went away, or the proxy reset them: the other side is closed below
        except asyncio.CancelledError:
            # close() ends its handlers; Python 3.11's stream server would log a cancelled one
            # as an error, and nothing waits for this task but close() itself
            pass
        finally:
            self._links.discard(link)
            for side in (writer, link.upstream):
                if side is not None:
                    side.close()

    async def _gate(self) -> None:
        assert self._flowing is not None
        await self._flowing.wait()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(_CHUNK):
            await self._gate()  # held here while stalled; sent once the stall ends
            sink.write(data)
            await sink.drain()
        sink.close()


def attach(
    sim: Simulator, proxy: TcpProxy, *plans: OutagePlan
) -> Callable[[SimCluster, Job], None]:
    """Have every switchover of a planned cluster schedule its outage on the proxy."""

    def on_switchover(cluster: SimCluster, job: Job) -> None:
        for plan in plans:
            if plan.cluster in (cluster.id, cluster.name):
                start = job.started + dt.timedelta(seconds=plan.after)
                proxy.schedule(plan.mode, start, start + dt.timedelta(seconds=plan.length))

    sim.switchover_listeners.append(on_switchover)
    return on_switchover
