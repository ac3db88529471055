"""The data-plane probes of the switchovers in flight, from the accepted POST to `tail` after the end.

Each probe's measurement is recorded as a `ProbeFinished` event (journal, metrics, log).

A probe is measurement, not a guard: one that cannot start (no endpoint, no password) is
recorded as `ProbeSkipped` and the switchover goes on; it never delays the cycle or the tracking (it runs as its own task).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from controller.loop.deps import LoopDeps
from controller.model import ClientImpact, Cluster, SwitchoverRecord
from controller.probe import Probe, ProbeResult, ProbeUnavailable, build_target
from controller.record.events import ProbeFinished, ProbeSkipped
from controller.settings import EffectivePolicy


@dataclass
class _Running:
    record: SwitchoverRecord
    probe: Probe
    tail: dt.timedelta
    stop_at: dt.datetime | None = None  # set once the switchover ended


class Probes:
    def __init__(self, deps: LoopDeps) -> None:
        self.deps = deps
        self._running: dict[str, _Running] = {}  # by cluster id

    def start(self, record: SwitchoverRecord, cluster: Cluster, policy: EffectivePolicy) -> None:
        """Begin probing `cluster` (if its policy asks for it) as its switchover was accepted."""
        settings = policy.probe
        if not settings.enabled or record.cluster_id in self._running:
            return
        try:
            target = build_target(settings, listed=cluster.sql_endpoint)
        except ProbeUnavailable as exc:
            self.deps.recorder.record(ProbeSkipped(record, str(exc)))
            return
        clock, scale = self.deps.clock, self.deps.time_scale
        probe = Probe(
            target,
            now=clock.now,
            monotonic=clock.monotonic,
            cluster=cluster.name,
            sleep=lambda seconds: asyncio.sleep(seconds / scale),  # `clock`'s seconds
        )
        probe.start()
        self._running[record.cluster_id] = _Running(record, probe, settings.tail)

    def ended(self, record: SwitchoverRecord) -> None:
        """The switchover ended: keep probing for the policy's tail, then stop."""
        running = self._running.get(record.cluster_id)
        if running is not None and running.stop_at is None:
            running.record = record
            running.stop_at = (record.ended or self.deps.clock.now()) + running.tail

    async def stop_due(self, now: dt.datetime, *, everything: bool = False) -> None:
        """Stop the probes whose tail has passed (`everything`: all of them, at shutdown)."""
        due = [
            cid
            for cid, r in self._running.items()
            if everything or (r.stop_at is not None and now >= r.stop_at)
        ]
        for cid in due:
            running = self._running.pop(cid)
            result = await running.probe.stop()
            errors = running.probe.errors
            self.deps.recorder.record(ProbeFinished(running.record, impact(result), errors))


def impact(result: ProbeResult) -> ClientImpact:
    return ClientImpact(
        interruption_seconds=result.client_interruption_seconds,
        failed_seconds=result.failed_seconds,
        first_failure=result.first_failure,
        recovery=result.recovery,
        samples=result.samples,
    )
