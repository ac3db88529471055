"""One emulated region: several projects behind one listener, each its own `Simulator`.

A request goes to the project its path names (`/v1.0/{project_id}/...`, Cloud Eye's `/V1.0/...`,
SMN's `/v2/...`); a path without a project (IAM, metadata) or naming a project the region does
not hold goes to the first project, whose own checks then answer it as the cloud would (an
unknown project is refused like a request signed for another account). Several regions are
several listeners, one `Region` each, in the same process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from controller.clock import Clock
from controller.simulator.app import ASGIApp, Receive, Scope, Send, create_app
from controller.simulator.world import Simulator

_PROJECT = re.compile(r"^/(?:v1\.0|V1\.0|v2)/(?P<project>[^/]+)/")


class Region:
    """The projects of one region, by project id (the first one answers what names none)."""

    def __init__(self, name: str, projects: Sequence[Simulator]) -> None:
        if not projects:
            raise ValueError(f"region {name} needs at least one project")
        ids = [sim.project_id for sim in projects]
        if len(set(ids)) != len(ids):
            raise ValueError(f"region {name}: a project id appears twice")
        self.name = name
        self.projects = {sim.project_id: sim for sim in projects}
        self.first = projects[0]

    def sim_for(self, path: str) -> Simulator:
        found = _PROJECT.match(path)
        sim = self.projects.get(found["project"]) if found else None
        return sim or self.first


def create_region_app(region: Region, *, wall_clock: Clock | None = None) -> ASGIApp:
    """The ASGI app serving every project of `region` (one project app each, made once)."""
    apps = {pid: create_app(sim, wall_clock=wall_clock) for pid, sim in region.projects.items()}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        sim = region.first if scope["type"] != "http" else region.sim_for(scope["path"])
        await apps[sim.project_id](scope, receive, send)

    return app
