"""Stuck clusters: one `ClusterStuck` per unbalanced episode that outlasts `notify.stuck_after`.

Whatever holds the cluster (a window that never opens, high load, an open breaker, a refused
permission, a veto) is named by its current decision. An episode is known by its onset
(`History.unbalanced_since`, kept in the journal): once the cluster is balanced again, the next
time it is unbalanced is a new episode, told about again. A restart forgets what it told (the
notification sink deduplicates by event across restarts).
"""

from __future__ import annotations

import datetime as dt

from controller.model import Action, Cluster, History, Reason, Verdict
from controller.record.events import ClusterStuck
from controller.record.recorder import Recorder

#: Decisions that leave an unbalanced cluster as it is (a running switchover is no hold).
_HELD = frozenset({Action.BLOCKED, Action.DRY_RUN})


class StuckWatch:
    def __init__(self, recorder: Recorder, stuck_after: dt.timedelta) -> None:
        self.recorder = recorder
        self.stuck_after = stuck_after
        self._told: dict[str, dt.datetime] = {}  # cluster id -> onset of the episode told about

    def observe(
        self, cluster: Cluster, verdict: Verdict, history: History, now: dt.datetime
    ) -> None:
        """One judged cluster: tell about it once, when its episode has lasted stuck_after."""
        since = history.unbalanced_since
        if not cluster.unbalanced or since is None:
            self._told.pop(cluster.id, None)
            return
        decision = verdict.decision
        if decision.action not in _HELD or decision.reason is Reason.SWITCHOVER_IN_PROGRESS:
            return
        if now - since < self.stuck_after or self._told.get(cluster.id) == since:
            return
        self._told[cluster.id] = since
        self.recorder.record(
            ClusterStuck(cluster.id, cluster.name, since, decision.reason.value, decision.detail)
        )

    def forget(self, cluster_id: str) -> None:
        self._told.pop(cluster_id, None)
