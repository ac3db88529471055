"""Serving the emulator over TCP with uvicorn: `serve` (the CLI), `BackgroundServer` (tests, benchmarks).

Both bind the socket themselves, so the port is known up front and "address in use" is a plain
OSError, and neither lets uvicorn touch the host process's logging config or signal handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import uvicorn

from controller.clock import Clock, ScaledClock, SystemClock
from controller.http.server import EmbeddedServer, listen_socket
from controller.simulator.app import create_app
from controller.simulator.faults import ConnectionDropped
from controller.simulator.region import Region, create_region_app
from controller.simulator.scenario import (
    Scenario,
    ScenarioError,
    default_scenario_path,
    load_scenario,
)
from controller.simulator.world import Simulator

DEFAULT_PORT = 8088
#: How long in-flight (e.g. deliberately hanging) requests may delay a stop.
GRACEFUL_SHUTDOWN_SECONDS = 1


class _HideDeliberateDrops(logging.Filter):
    """uvicorn logs an app exception as an error; a fault's dropped connection is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_DROP_FILTER = _HideDeliberateDrops()


def _uvicorn_server(
    sim: Simulator | Region, wall_clock: Clock | None, on_started: Callable[[], None]
) -> EmbeddedServer:
    if isinstance(sim, Region):
        app = create_region_app(sim, wall_clock=wall_clock)
    else:
        app = create_app(sim, wall_clock=wall_clock)
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    error_log = logging.getLogger("uvicorn.error")
    if _DROP_FILTER not in error_log.filters:
        error_log.addFilter(_DROP_FILTER)
    return EmbeddedServer(config, on_started)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    sim: Simulator | Region,
    host: str,
    port: int,
    *,
    ready: Callable[[str], None] | None = None,
    wall_clock: Clock | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (when run in the main thread) or cancellation; `ready(url)` once up."""
    sock = listen_socket(host, port)
    url = _url(sock)
    server = _uvicorn_server(sim, wall_clock, lambda: ready(url) if ready else None)
    loop = asyncio.get_running_loop()
    handled = threading.current_thread() is threading.main_thread()
    if handled:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _request_exit, server)
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
        if handled:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


def _request_exit(server: uvicorn.Server) -> None:
    # A second signal while shutting down skips the graceful wait.
    server.force_exit = server.should_exit
    server.should_exit = True


class BackgroundServer:
    """The emulator on `127.0.0.1:<free port>` in a thread with its own event loop; `.url` once started.

    `sim` is one project, or a `Region` of several (one listener per region).
    """

    def __init__(
        self,
        sim: Simulator | Region,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        wall_clock: Clock | None = None,
    ) -> None:
        self.sim = sim
        self._sock = listen_socket(host, port)
        self.url = _url(self._sock)
        self._started = threading.Event()
        self._server = _uvicorn_server(sim, wall_clock, self._started.set)
        self._thread = threading.Thread(target=self._run, name="dws-emulator", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
        finally:
            self._started.set()

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        if not self._started.wait(timeout) or self._error or not self._server.started:
            self.stop()
            raise RuntimeError(f"emulator did not start on {self.url}: {self._error!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dws-rebalancer simulator",
        description="Run the GaussDB(DWS) API emulator (cluster API + IAM tokens) for demos and tests.",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        action="append",
        help="scenario YAML (default: the built-in one); repeat it to serve several projects"
        " on one listener, as one region",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port to listen on, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument("--ak", help="access key to accept (default: the scenario's)")
    parser.add_argument("--sk", help="secret key to accept (default: the scenario's)")
    parser.add_argument("--project-id", help="project id to serve (default: the scenario's)")
    parser.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        metavar="FACTOR",
        help="run simulated time FACTOR times faster than the wall clock (default: %(default)s)",
    )
    return parser


def _port(text: str) -> int:
    # checked here: bind() would raise OverflowError for 70000 and a resolver error for -5
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port from 0 to 65535 (0: any free port), not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < math.inf:  # also refuses nan
        raise argparse.ArgumentTypeError(f"a finite number greater than 0, not {text!r}")
    return value


def _announce(url: str, scenario: Scenario, sim: Simulator, speed: float) -> None:
    lines = [
        f"DWS emulator listening on {url}",
        f"  project id : {sim.project_id}",
        f"  AK / SK    : {sim.ak} / {sim.sk}   (the emulator's own throwaway credentials)",
        f"  IAM        : POST {url}/v3/auth/tokens",
    ]
    lines += [
        f"  IAM user   : {u.name} / {u.password.get_secret_value()} (domain {u.domain})"
        for u in scenario.iam_users
    ]
    lines.append(f"  clusters   : {len(sim.clusters)}; simulated time x{speed:g}")
    print("\n".join(lines), flush=True)


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    paths = args.scenario or [default_scenario_path()]
    if len(paths) > 1 and (args.ak or args.sk or args.project_id):
        raise ScenarioError("--ak, --sk and --project-id go with one --scenario only")
    return [
        load_scenario(path).with_overrides(ak=args.ak, sk=args.sk, project_id=args.project_id)
        for path in paths
    ]


def _announce_all(url: str, scenarios: list[Scenario], region: Region, speed: float) -> None:
    for scenario, sim in zip(scenarios, region.projects.values(), strict=True):
        _announce(url, scenario, sim, speed)


def main(argv: list[str] | None = None) -> int:
    """`dws-rebalancer simulator ...`: 0 after SIGTERM/SIGINT, 1 if it cannot listen, 2 on bad input."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the problem (or the help)
        return int(exc.code or 0)
    try:
        scenarios = _scenarios(args)
        # One clock for every project, from the first scenario's start.
        clock = ScaledClock(scenarios[0].start or SystemClock().now(), args.speed)
        region = Region("emulated", [s.build(clock) for s in scenarios])
    except (ScenarioError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    served: Simulator | Region = region.first if len(region.projects) == 1 else region
    try:
        asyncio.run(
            serve(
                served,
                args.host,
                args.port,
                ready=lambda url: _announce_all(url, scenarios, region, args.speed),
            )
        )
    except OSError as exc:
        print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
