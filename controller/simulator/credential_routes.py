"""Routing for the emulator's credential endpoints (metadata service, pod identity, IAM federation).

They answer before the API gateway's checks: each does its own (a session token, a pod token,
an ID token). Each request is counted under its operation, like the DWS operations.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.simulator import federation, metadata
from controller.simulator.auth import Request
from controller.simulator.faults import Reply
from controller.simulator.world import Simulator

Handler = Callable[[Simulator, Request], Reply]
ROUTES: tuple[tuple[str, str, str, Handler], ...] = (*metadata.ROUTES, *federation.ROUTES)


def find(method: str, path: str) -> tuple[str, Handler] | None:
    """The operation and handler for this request, or None if it is not a credential endpoint."""
    clean = path.rstrip("/") or "/"
    return next(((op, h) for m, p, op, h in ROUTES if m == method and p == clean), None)


def answer(sim: Simulator, found: tuple[str, Handler], request: Request) -> Reply:
    operation, handler = found
    with sim.lock:
        sim.catch_up()
        sim.counts[operation] += 1
        return handler(sim, request)
