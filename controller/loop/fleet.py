"""The fleet's heartbeat: one runner per target, concurrently, never more than a bound at once.

Each target keeps its own schedule and back-off: a target whose credentials are refused or whose
region is down fails and retries on its own, and the others' cycles go on. Every log line a
target's runner writes carries its `dws_target` (bound in the runner's own task).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from controller.clock import Clock
from controller.loop.cycle import Reconciler
from controller.loop.runner import Runner

log = structlog.get_logger("controller.loop.fleet")


class FleetRunner:
    def __init__(
        self,
        reconcilers: Sequence[tuple[str, Reconciler]],
        clock: Clock,
        *,
        time_scale: float = 1.0,
        max_concurrent: int = 16,
    ) -> None:
        gate = asyncio.Semaphore(max_concurrent) if len(reconcilers) > 1 else None
        self.runners = {
            name: Runner(reconciler, clock, time_scale=time_scale, gate=gate)
            for name, reconciler in reconcilers
        }
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Every target's loop until `stop`; a runner never raises (a bad cycle is backed off).

        A replica the stable hash gave no target waits for `stop` all the same: it is not
        broken (its shard may fill after the next resharding), and a pod that exited would
        only be restarted again and again.
        """
        if not self.runners:
            log.warning("no_targets_owned", detail="this replica's shard is empty; it idles")
            await stop.wait()
            return
        async with asyncio.TaskGroup() as group:
            for name, runner in self.runners.items():
                group.create_task(_as_target(name, runner, stop), name=f"target-{name}")


async def _as_target(name: str, runner: Runner, stop: asyncio.Event) -> None:
    structlog.contextvars.bind_contextvars(dws_target=name)  # this task's context only
    await runner.run(stop)
