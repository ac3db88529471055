"""The emulator's world: a project's simulated clusters, timed events and switchovers, on an injected clock.

State advances lazily: `sync(now)` applies every event that fell due, in time order, so a
`ManualClock` fully controls what the HTTP side sees and there are no background tasks.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from controller.clock import Clock
from controller.model import FLAG_NORMAL, FLAG_UNBALANCED, SWITCHOVER_FAILED_TASK, SWITCHOVER_TASK
from controller.simulator.cloudeye import CloudEye
from controller.simulator.cluster import (
    LOAD_FACTOR,
    OUTCOMES,
    SWITCHOVER_MIN_VERSION,
    Job,
    SimCluster,
    SimulatorError,
    parse_flags,
    switchover_refusal,
)
from controller.simulator.faults import FaultInjector
from controller.simulator.identity import IdentityState
from controller.simulator.smn import Smn

__all__ = [
    "LOAD_FACTOR",
    "OUTCOMES",
    "SWITCHOVER_MIN_VERSION",
    "ClusterNotFound",
    "Job",
    "SimCluster",
    "Simulator",
    "SimulatorError",
    "SwitchoverPost",
    "SwitchoverRefused",
    "parse_flags",
    "switchover_refusal",
]

log = logging.getLogger(__name__)

STATE_ERROR_CODE = "DWS.0112"
#: Ops a descriptor event (`("unbalance", "dws-a")`) may name.
EVENT_OPS = frozenset(
    {"unbalance", "balance", "start_task", "clear_task", "start_external_switchover", "set"}
)

P = ParamSpec("P")
R = TypeVar("R")
Action = Callable[[], object] | tuple[Any, ...]


class ClusterNotFound(SimulatorError):
    """No cluster with that id or name."""


class SwitchoverRefused(SimulatorError):
    """DWS would answer the switchover POST with 400 DWS.0112; the message says why."""

    code = STATE_ERROR_CODE


@dataclass(frozen=True)
class SwitchoverPost:
    """One accepted switchover POST (console switchovers are not listed)."""

    cluster_id: str
    at: dt.datetime


@dataclass(order=True)
class _Timed:
    when: dt.datetime
    seq: int
    action: Callable[[], object] = field(compare=False)
    label: str = field(compare=False, default="")


def _lock_and_sync(method: Callable[P, R]) -> Callable[P, R]:
    """Public mutators hold the world lock and first catch up with the clock."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        sim = args[0]
        assert isinstance(sim, Simulator)
        with sim.lock:
            sim.catch_up()
            return method(*args, **kwargs)

    return wrapper


class Simulator:
    """A DWS project: clusters, timed events, IAM users, tokens, fault plans and request counts."""

    def __init__(
        self,
        clock: Clock,
        *,
        project_id: str,
        ak: str,
        sk: str,
        iam_users: Mapping[str, tuple[str, str]] | None = None,
        token_ttl: dt.timedelta = dt.timedelta(hours=24),
    ) -> None:
        self.clock = clock
        self.project_id = project_id
        self.ak = ak
        self.sk = sk
        self.iam_users = dict(iam_users or {})
        self.token_ttl = token_ttl
        self.tokens: dict[str, dt.datetime] = {}  # token -> expiry (sim clock)
        self.start = clock.now()
        self.counts: collections.Counter[str] = collections.Counter()
        self.switchovers: list[SwitchoverPost] = []
        self.faults = FaultInjector()
        #: Short-lived credentials: what the scenario's identity sources issued (identity.py).
        self.identity = IdentityState()
        #: The project's emulated Cloud Eye: load curves and its own faults (simulator/cloudeye.py).
        self.cloud_eye = CloudEye()
        #: The project's emulated SMN: topics, faults, what was published (simulator/smn.py).
        self.smn = Smn()
        #: Called with (cluster, job) as each switchover starts, ours or the console's: the hook
        #: a TCP proxy in front of a real database uses to cut or stall it (simulator/proxy.py).
        self.switchover_listeners: list[Callable[[SimCluster, Job], None]] = []
        # The HTTP side runs in a server thread while tests poke the world from theirs.
        self.lock = threading.RLock()
        self._clusters: dict[str, SimCluster] = {}
        self._queue: list[_Timed] = []
        self._seq = itertools.count()
        self._now = self.start
        self._syncing = False

    def __repr__(self) -> str:
        return f"Simulator(project_id={self.project_id!r}, clusters={len(self._clusters)})"

    # -- time ---------------------------------------------------------------------------------

    def sync(self, now: dt.datetime) -> None:
        """Apply every event due by `now` in time order; state changes are stamped with the event's time."""
        with self.lock:
            if self._syncing:
                return
            self._syncing = True
            try:
                while self._queue and self._queue[0].when <= now:
                    item = heapq.heappop(self._queue)
                    self._now = max(self._now, item.when)
                    self._fire(item)
                self._now = max(self._now, now)
            finally:
                self._syncing = False

    def catch_up(self) -> None:
        """Sync to the clock, unless an event is firing (its changes happen at the event's time)."""
        self.sync(self.clock.now())

    @property
    def now(self) -> dt.datetime:
        """The world's time: the clock after a sync, or the due event's time while it fires."""
        return self._now

    def at(self, when: dt.datetime | dt.timedelta | float, action: Action) -> None:
        """Run `action` once the clock passes `when` (a datetime, or an offset from `start`).

        `action` is a zero-argument callable or a descriptor tuple `(op, *args)` naming one of
        EVENT_OPS, e.g. `("unbalance", "dws-a", "READONLY")` or `("set", "dws-a", {"load": 0.9})`.
        """
        if isinstance(when, dt.datetime):
            due = when
        else:
            offset = when if isinstance(when, dt.timedelta) else dt.timedelta(seconds=when)
            due = self.start + offset
        run, label = self._as_callable(action)
        with self.lock:
            self._schedule(due, run, label)

    def _as_callable(self, action: Action) -> tuple[Callable[[], object], str]:
        if callable(action):
            return action, getattr(action, "__name__", repr(action))
        op, *args = action
        if op not in EVENT_OPS:
            raise SimulatorError(f"unknown event op {op!r} (one of {', '.join(sorted(EVENT_OPS))})")
        kwargs = args.pop() if args and isinstance(args[-1], Mapping) else {}
        method = getattr(self, op)
        return (lambda: method(*args, **kwargs)), f"{op} {' '.join(map(str, args))}"

    def _fire(self, item: _Timed) -> None:
        try:
            item.action()
        except SimulatorError as exc:
            # A scripted event that no longer applies (e.g. the console refused a switchover)
            # is what would happen on the real service too: note it and carry on.
            log.warning("simulator event %r at %s skipped: %s", item.label, item.when, exc)

    def _schedule(self, when: dt.datetime, action: Callable[[], object], label: str) -> None:
        heapq.heappush(self._queue, _Timed(when, next(self._seq), action, label))

    # -- clusters -----------------------------------------------------------------------------

    @property
    def clusters(self) -> list[SimCluster]:
        """Every cluster as of now (reading catches up with the clock too)."""
        with self.lock:
            self.catch_up()
            return list(self._clusters.values())

    @_lock_and_sync
    def add_cluster(self, **fields: Any) -> SimCluster:
        fields.setdefault("created", self._now)
        fields.setdefault("updated", fields["created"])
        try:
            cluster = SimCluster(**fields)
        except TypeError as exc:
            raise SimulatorError(f"bad cluster fields: {exc}") from None
        if cluster.id in self._clusters or self._by_name(cluster.name):
            raise SimulatorError(f"duplicate cluster id or name: {cluster.id} / {cluster.name}")
        self._clusters[cluster.id] = cluster
        if cluster.task_status is not None:
            cluster.job = Job(cluster.task_status, self._now, None)
        return cluster

    def _by_name(self, name: str) -> SimCluster | None:
        return next((c for c in self._clusters.values() if c.name == name), None)

    @_lock_and_sync
    def cluster(self, id_or_name: str) -> SimCluster:
        """The cluster with this id (or else name) as of now."""
        found = self._clusters.get(id_or_name) or self._by_name(id_or_name)
        if found is None:
            raise ClusterNotFound(f"no cluster with id or name {id_or_name!r}")
        return found

    def _changed(self, cluster: SimCluster) -> None:
        cluster.updated = self._now

    @_lock_and_sync
    def unbalance(self, id_or_name: str, *extra_flags: str) -> None:
        """Primaries drift: UNBALANCED (plus any extra flags such as READONLY) replaces NORMAL."""
        cluster = self.cluster(id_or_name)
        cluster.flags = (cluster.flags - {FLAG_NORMAL}) | {FLAG_UNBALANCED, *extra_flags}
        self._changed(cluster)

    @_lock_and_sync
    def balance(self, id_or_name: str) -> None:
        """UNBALANCED goes away (as after a successful switchover); NORMAL if nothing else is left."""
        cluster = self.cluster(id_or_name)
        cluster.mark_balanced()
        self._changed(cluster)

    @_lock_and_sync
    def start_task(self, id_or_name: str, task: str, seconds: float | None = None) -> None:
        """Show `task` in task_status; it ends by itself after `seconds`, or runs until cleared."""
        cluster = self.cluster(id_or_name)
        ends = None if seconds is None else self._now + dt.timedelta(seconds=seconds)
        self._start_job(cluster, Job(task, self._now, ends), self._end_task)

    @_lock_and_sync
    def clear_task(self, id_or_name: str) -> None:
        cluster = self.cluster(id_or_name)
        cluster.task_status, cluster.job = None, None
        self._changed(cluster)

    @_lock_and_sync
    def set(self, id_or_name: str, **fields: Any) -> None:
        """Set arbitrary cluster fields (not `id`); setting task_status starts an open-ended task."""
        cluster = self.cluster(id_or_name)
        names = {f.name for f in dataclasses.fields(SimCluster)} - {"id", "job", "created"}
        unknown = sorted(set(fields) - names)
        if unknown:
            raise SimulatorError(f"cannot set unknown cluster field(s): {', '.join(unknown)}")
        saved = {name: getattr(cluster, name) for name in fields}
        for name, value in fields.items():
            setattr(cluster, name, parse_flags(value) if name == "flags" else value)
        try:
            cluster.validate()
        except SimulatorError:
            for name, value in saved.items():
                setattr(cluster, name, value)
            raise
        if "task_status" in fields:
            task = cluster.task_status
            cluster.job = None if task is None else Job(task, self._now, None)
        self._changed(cluster)

    def _start_job(
        self, cluster: SimCluster, job: Job, on_end: Callable[[SimCluster, Job], None]
    ) -> None:
        cluster.task_status, cluster.job = job.task, job
        self._changed(cluster)
        if job.ends is not None:
            self._schedule(job.ends, lambda: on_end(cluster, job), f"end {job.task} {cluster.name}")

    def _end_task(self, cluster: SimCluster, job: Job) -> None:
        if cluster.job is job:  # else superseded by a later task, a clear or a `set`
            cluster.task_status, cluster.job = None, None
            self._changed(cluster)

    # -- switchover ---------------------------------------------------------------------------

    @_lock_and_sync
    def switchover(self, id_or_name: str) -> SimCluster:
        """The API's switchover POST: accepted (and logged) or SwitchoverRefused."""
        cluster = self._begin_switchover(id_or_name)
        self.switchovers.append(SwitchoverPost(cluster.id, self._now))
        return cluster

    @_lock_and_sync
    def start_external_switchover(self, id_or_name: str) -> None:
        """Someone clicked the console's switchback button: same rules, not in `switchovers`."""
        self._begin_switchover(id_or_name)

    def _begin_switchover(self, id_or_name: str) -> SimCluster:
        cluster = self.cluster(id_or_name)
        refusal = switchover_refusal(cluster)
        if refusal:
            raise SwitchoverRefused(f"Cluster state is abnormal: {refusal}")
        job = Job(SWITCHOVER_TASK, self._now, self._now + cluster.switchover_duration())
        self._start_job(cluster, job, self._end_switchover)
        for listener in self.switchover_listeners:
            listener(cluster, job)
        return cluster

    def _end_switchover(self, cluster: SimCluster, job: Job) -> None:
        if cluster.job is not job:
            return
        outcome = cluster.switchover_outcome
        cluster.job = None
        cluster.task_status = SWITCHOVER_FAILED_TASK if outcome == "fail_task" else None
        if outcome == "succeed":
            cluster.mark_balanced()
        self._changed(cluster)
