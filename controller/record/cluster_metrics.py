"""The per-cluster series: one value per cluster and metric, held in `SeriesTable`s.

Series are created lazily: a balanced cluster has four (info, unbalanced, window, decisions); the
switchover series appear, zeroed, when a cluster first becomes a candidate (it was judged while
unbalanced, or a switchover of it started), so rate() and increase() still see its first one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Literal

from controller.model import (
    Action,
    ClientImpact,
    Cluster,
    Decision,
    Outcome,
    SwitchoverRecord,
    Trigger,
)
from controller.record.series import SeriesTable

CLUSTER_LABEL = "dws_cluster"
_C = (CLUSTER_LABEL,)
_SWITCHOVER_LABELS = tuple((t.value, o.value) for t, o in itertools.product(Trigger, Outcome))


_Kind = Literal["gauge", "counter"]
#: key -> (name after the prefix, documentation, labels, kind); a counter's name has no `_total`.
_TABLES: dict[str, tuple[str, str, tuple[str, ...], _Kind]] = {
    "info": (
        "cluster_info",
        "A DWS cluster seen in the last poll; always 1.",
        (CLUSTER_LABEL, "dws_cluster_id", "version"),
        "gauge",
    ),
    "unbalanced": (
        "cluster_unbalanced",
        "1 when the cluster's sub_status contains UNBALANCED.",
        _C,
        "gauge",
    ),
    "unbalanced_since": (
        "cluster_unbalanced_since_timestamp_seconds",
        "Unix time since when the cluster has been unbalanced; absent when balanced.",
        _C,
        "gauge",
    ),
    "window_open": (
        "window_open",
        "1 when a switchover window is open now; absent when unknown.",
        _C,
        "gauge",
    ),
    "decisions": (
        "decisions",
        "Decisions taken, by action and reason (a kept decision of an unchanged cluster is "
        "not taken again).",
        (CLUSTER_LABEL, "action", "reason"),
        "counter",
    ),
    "blocked": (
        "cluster_blocked",
        "1 for the reason currently blocking the cluster.",
        (CLUSTER_LABEL, "reason"),
        "gauge",
    ),
    "next_eligible": (
        "next_eligible_timestamp_seconds",
        "Unix time the cluster may next be switched over; absent when unknown.",
        _C,
        "gauge",
    ),
    "switchovers": (
        "switchovers",
        "Finished switchovers, by who triggered them and how they ended.",
        (CLUSTER_LABEL, "trigger", "outcome"),
        "counter",
    ),
    "in_progress": (
        "switchover_in_progress",
        "1 while a switchover of the cluster is tracked.",
        _C,
        "gauge",
    ),
    "last_switchover": (
        "last_switchover_timestamp_seconds",
        "Unix time the last switchover ended.",
        _C,
        "gauge",
    ),
    "last_interruption": (
        "last_interruption_seconds",
        "Interruption of the last measured switchover.",
        _C,
        "gauge",
    ),
    "last_client_interruption": (
        "last_client_interruption_seconds",
        "What clients felt of the last probed switchover (longest run of failed probes).",
        _C,
        "gauge",
    ),
    "load_value": (
        "load_value",
        "The load the gate last read for a candidate cluster, by metric (node metrics: the "
        "busiest node); absent for clusters it had no reason to ask about.",
        (CLUSTER_LABEL, "metric"),
        "gauge",
    ),
    "approval_state": (
        "approval_state",
        "1 for the unbalanced cluster's standing with people under approval: announce or manual "
        "(not_announced, announced, vetoed, awaiting_approval, approved); absent otherwise.",
        (CLUSTER_LABEL, "state"),
        "gauge",
    ),
    "approval_slot": (
        "approval_slot_timestamp_seconds",
        "Unix time of the slot announced for the cluster's switchover (it runs then unless "
        "vetoed); absent when nothing is announced.",
        _C,
        "gauge",
    ),
    "breaker": (
        "breaker_open",
        "1 while the failure circuit breaker stops switchovers.",
        _C,
        "gauge",
    ),
}


class ClusterMetrics:
    """Writes the per-cluster tables from the loop's values; `tables` go on the registry."""

    def __init__(self, prefix: str) -> None:
        tables = {key: SeriesTable(prefix + name, doc, labels, kind) for key, (name, doc, labels, kind) in _TABLES.items()}  # fmt: skip
        self.info, self.unbalanced = tables["info"], tables["unbalanced"]
        self.unbalanced_since, self.window_open = tables["unbalanced_since"], tables["window_open"]
        self.decisions, self.blocked = tables["decisions"], tables["blocked"]
        self.next_eligible, self.switchovers = tables["next_eligible"], tables["switchovers"]
        self.in_progress, self.last_switchover = tables["in_progress"], tables["last_switchover"]
        self.last_interruption, self.breaker = tables["last_interruption"], tables["breaker"]
        self.last_client_interruption = tables["last_client_interruption"]
        self.load_value = tables["load_value"]
        self.approval_state, self.approval_slot = tables["approval_state"], tables["approval_slot"]
        self.tables = tuple(tables.values())
        self._single = tuple(t for t in self.tables if t.labels == _C)
        self._names: dict[str, str] = {}  # cluster id -> name, for every cluster with series
        self._owners: dict[str, str] = {}  # name -> the cluster id its series belong to
        self._info_labels: dict[str, tuple[str, str, str]] = {}  # cluster id -> info labels
        self._decision_labels: dict[str, set[tuple[str, str, str]]] = {}  # name -> labels
        self._blocked_reason: dict[str, str] = {}  # name -> current block reason
        self._candidates: set[str] = set()  # names whose switchover series exist
        self._load_metrics: dict[str, set[str]] = {}  # name -> metrics with a load_value
        self._approval: dict[str, str] = {}  # name -> current approval state

    # -- one poll --------------------------------------------------------------------------------

    def observe_clusters(
        self,
        clusters: Sequence[Cluster],
        *,
        unbalanced_since: Mapping[str, dt.datetime],
        window_open: Mapping[str, bool | None],
    ) -> None:
        """Clusters whose facts may have moved (maps keyed by cluster id)."""
        for cluster in clusters:
            key = (cluster.name,)
            self._track(cluster.id, cluster.name)
            info = (cluster.name, cluster.id, cluster.raw_version or "unknown")
            if self._info_labels.get(cluster.id) != info:
                self._drop_info(cluster.id)
                self.info.set(info, 1)
                self._info_labels[cluster.id] = info
            self.unbalanced.set(key, 1 if cluster.unbalanced else 0)
            since, opened = unbalanced_since.get(cluster.id), window_open.get(cluster.id)
            _put(self.unbalanced_since, key, since.timestamp() if since else None)
            _put(self.window_open, key, None if opened is None else int(opened))

    def forget_cluster(self, cluster_id: str) -> None:
        """A cluster that is gone loses every series."""
        name = self._names.pop(cluster_id, None)
        self._drop_info(cluster_id)
        if name is not None and self._owners.get(name) == cluster_id:
            self._forget(name)

    def observe_decision(self, decision: Decision) -> None:
        name = decision.cluster_name
        self._track(decision.cluster_id, name)
        labels = (name, decision.action.value, decision.reason.value)
        self.decisions.inc(labels)
        self._decision_labels.setdefault(name, set()).add(labels)
        if decision.action is not Action.NONE:  # unbalanced: a switchover may follow
            self._candidate(name)
        blocked = decision.action is Action.BLOCKED
        self._set_blocked(name, decision.reason.value if blocked else None)
        eligible = decision.next_eligible
        _put(self.next_eligible, (name,), eligible.timestamp() if eligible else None)

    def set_breaker(self, cluster_name: str, open_: bool) -> None:
        """Present for clusters that ever were candidates (or whose breaker is open)."""
        if open_ or cluster_name in self._candidates:
            self.breaker.set((cluster_name,), 1 if open_ else 0)

    # -- switchovers -----------------------------------------------------------------------------

    def switchover_started(self, record: SwitchoverRecord) -> None:
        self._track(record.cluster_id, record.cluster_name)
        self._candidate(record.cluster_name)
        self.in_progress.set((record.cluster_name,), 1)

    def switchover_finished(self, record: SwitchoverRecord) -> None:
        key = (record.cluster_name,)
        self._track(record.cluster_id, record.cluster_name)
        self._candidate(record.cluster_name)
        if record.outcome is not None:
            self.switchovers.inc((*key, record.trigger.value, record.outcome.value))
        if record.interruption_seconds is not None:
            self.last_interruption.set(key, record.interruption_seconds)
        self.last_switchover.set(key, (record.ended or record.started).timestamp())
        self.in_progress.set(key, 0)

    def probe_finished(self, record: SwitchoverRecord, impact: ClientImpact) -> None:
        self._track(record.cluster_id, record.cluster_name)
        _put(self.last_client_interruption, (record.cluster_name,), impact.interruption_seconds)

    def load_read(self, cluster_id: str, name: str, values: Mapping[str, float]) -> None:
        """What the load gate read of a candidate: the metrics it got replace the previous ones."""
        self._track(cluster_id, name)
        for metric in self._load_metrics.pop(name, set()) - values.keys():
            self.load_value.remove((name, metric))
        for metric, value in values.items():
            self.load_value.set((name, metric), value)
        if values:
            self._load_metrics[name] = set(values)

    def set_approval(
        self, cluster_id: str, name: str, state: str | None, slot: dt.datetime | None
    ) -> None:
        """The cluster's standing with people (None: none applies) and its announced slot."""
        self._track(cluster_id, name)
        self._set_approval(name, state)
        _put(self.approval_slot, (name,), slot.timestamp() if slot else None)

    # -- bookkeeping -----------------------------------------------------------------------------

    def _track(self, cluster_id: str, name: str) -> None:
        """Remember which cluster a name's series belong to; a renamed cluster's old series go."""
        old = self._names.get(cluster_id)
        if old == name:
            return
        if old is not None and self._owners.get(old) == cluster_id:
            self._forget(old)  # unless another cluster took the name over in the meantime
        self._names[cluster_id] = name
        self._owners[name] = cluster_id

    def _candidate(self, name: str) -> None:
        if name in self._candidates:
            return
        self._candidates.add(name)
        for trigger, outcome in _SWITCHOVER_LABELS:
            self.switchovers.ensure((name, trigger, outcome))
        self.in_progress.values.setdefault((name,), 0)

    def _drop_info(self, cluster_id: str) -> None:
        labels = self._info_labels.pop(cluster_id, None)
        if labels is not None:
            self.info.remove(labels)

    def _forget(self, name: str) -> None:
        self._owners.pop(name, None)
        for table in self._single:
            table.remove((name,))
        if name in self._candidates:
            self._candidates.discard(name)
            for trigger, outcome in _SWITCHOVER_LABELS:
                self.switchovers.remove((name, trigger, outcome))
        for labels in self._decision_labels.pop(name, set()):
            self.decisions.remove(labels)
        for metric in self._load_metrics.pop(name, set()):
            self.load_value.remove((name, metric))
        self._set_blocked(name, None)
        self._set_approval(name, None)

    def _set_approval(self, name: str, state: str | None) -> None:
        previous = self._approval.pop(name, None)
        if previous is not None and previous != state:
            self.approval_state.remove((name, previous))
        if state is not None:
            self.approval_state.set((name, state), 1)
            self._approval[name] = state

    def _set_blocked(self, name: str, reason: str | None) -> None:
        previous = self._blocked_reason.pop(name, None)
        if previous is not None and previous != reason:
            self.blocked.remove((name, previous))
        if reason is not None:
            self.blocked.set((name, reason), 1)
            self._blocked_reason[name] = reason


def _put(table: SeriesTable, labels: tuple[str, ...], value: float | None) -> None:
    if value is None:
        table.remove(labels)
    else:
        table.set(labels, value)
