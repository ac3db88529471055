"""`run`: the controller as a service — reconcile loop plus the metrics/health/status HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Sequence

from controller.app.bootstrap import Fleet, assemble_fleet
from controller.clock import Clock, SystemClock
from controller.http.approvals import approval_endpoints
from controller.http.server import ASGIApp, HttpServer, create_app
from controller.http.status import FleetStatus
from controller.loop.fleet import FleetRunner
from controller.loop.runner import stop_on_signals
from controller.record.recorder import Sink
from controller.settings import Settings


async def serve_controller(
    settings: Settings,
    *,
    reset_journal: bool = False,
    clock: Clock | None = None,
    time_scale: float = 1.0,
    stop: asyncio.Event | None = None,
    sinks: Sequence[Sink] = (),
    on_ready: Callable[[FleetRunner, HttpServer], None] | None = None,
    handle_signals: bool = True,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set); `handle_signals=False` leaves the signals to
    the caller (the demo handles Ctrl-C for its whole run, not only while the loop runs)."""
    clock = clock or SystemClock()
    stop = stop or asyncio.Event()
    async with assemble_fleet(
        settings,
        clock=clock,
        reset_journal=reset_journal,
        sinks=sinks,
        time_scale=time_scale,
    ) as fleet:
        runners = FleetRunner(
            [(p.settings.target, p.reconciler) for p in fleet.targets],
            clock,
            time_scale=time_scale,
            max_concurrent=settings.max_concurrent_targets,
        )
        server = HttpServer(_app(fleet, runners, clock), settings.listen_host, settings.listen_port)
        await server.start()
        # Everything built so far (modules, settings, the registry) lives as long as the process:
        # keep it out of every future collection, which would otherwise walk it again and again.
        gc.freeze()
        if on_ready is not None:
            on_ready(runners, server)
        try:
            with stop_on_signals(stop) if handle_signals else contextlib.nullcontext():
                await runners.run(stop)
        finally:
            await server.stop()


def _app(fleet: Fleet, runners: FleetRunner, clock: Clock) -> ASGIApp:
    """The HTTP side: metrics, health, /status, and the approval routes when they are on."""
    approvals = approval_endpoints(fleet.settings, fleet.journal, clock)
    return create_app(fleet, FleetStatus(runners.runners), approvals)
