"""Switchovers in flight across every target of one controller, for `max_concurrent_total`.

Each target's cycle counts the others' tracked switchovers plus those being started right now:
targets run concurrently, and a POST on the wire is not yet tracked. The reservation is made
before the first await of a trigger, so two targets cannot both see room for the last slot.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.model import SwitchoverRecord


class InFlight:
    def __init__(self) -> None:
        self._tracked: list[Mapping[str, SwitchoverRecord]] = []
        self._starting: set[str] = set()

    def watch(self, tracked: Mapping[str, SwitchoverRecord]) -> None:
        """Count a target's tracked switchovers (its live dict, read at each question)."""
        self._tracked.append(tracked)

    def reserve(self, cluster_id: str) -> None:
        self._starting.add(cluster_id)

    def release(self, cluster_id: str) -> None:
        self._starting.discard(cluster_id)

    def elsewhere(self, cluster_id: str) -> int:
        """Switchovers running or starting on any other cluster of any target."""
        running = {cid for tracked in self._tracked for cid in tracked} | self._starting
        return len(running - {cluster_id})
