"""One simulated cluster: its fields, its running task, and when DWS would refuse a switchover.

Plain data plus pure rules; time-keeping and events live in `controller.simulator.world`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.model import AVAILABLE_STATUSES, FLAG_NORMAL, FLAG_UNBALANCED, Version

SWITCHOVER_MIN_VERSION = Version.parse("8.1.1.202")
OUTCOMES = ("succeed", "fail_task", "stay_unbalanced")
#: Extra duration per unit of load: duration = base × (1 + LOAD_FACTOR × load).
LOAD_FACTOR = 4.0
#: The order DWS prints sub_status flags in; unknown flags follow alphabetically.
_FLAG_ORDER = ("NORMAL", "DEGRADED", "UNBALANCED", "READONLY", "REDISTRIBUTING")


class SimulatorError(Exception):
    """Bad use of the simulator: unknown cluster, bad field value, unknown event op."""


@dataclass
class Job:
    """A task running on a cluster; `ends` is None for a task that runs until cleared."""

    task: str
    started: dt.datetime
    ends: dt.datetime | None

    def progress(self, now: dt.datetime) -> str | None:
        if self.ends is None:
            return None
        total = (self.ends - self.started).total_seconds()
        done = (now - self.started).total_seconds() / total if total > 0 else 1.0
        # Never 100% while still running: the task ends at `ends`, not before.
        return f"{min(99, max(0, int(done * 100)))}%"


@dataclass
class SimCluster:
    """One simulated cluster; `flags` is the sub_status set, `load` (0..1) slows switchovers down."""

    id: str
    name: str
    version: str = "8.2.1.230"
    tags: dict[str, str] | None = None
    maintain_window: dict[str, str] = field(
        default_factory=lambda: {"day": "Wed", "start_time": "22:00", "end_time": "02:00"}
    )
    status: str = "AVAILABLE"
    flags: set[str] = field(default_factory=lambda: {FLAG_NORMAL})
    task_status: str | None = None
    load: float = 0.0
    number_of_node: int = 3
    created: dt.datetime | None = None
    updated: dt.datetime | None = None
    enterprise_project_id: str = "0"
    switchover_base_seconds: float = 20.0
    switchover_outcome: str = "succeed"
    job: Job | None = field(default=None, repr=False, compare=False)
    #: Bumped by every assignment to a field: equal revisions render equal API answers.
    revision: int = field(default=0, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name != "revision":
            object.__setattr__(self, "revision", self.__dict__.get("revision", 0) + 1)

    def __post_init__(self) -> None:
        self.flags = parse_flags(self.flags)
        self.validate()

    def validate(self) -> None:
        if not 0.0 <= self.load <= 1.0:
            raise SimulatorError(f"cluster {self.name}: load must be within 0..1, not {self.load}")
        if self.switchover_outcome not in OUTCOMES:
            raise SimulatorError(
                f"cluster {self.name}: switchover_outcome must be one of {', '.join(OUTCOMES)}"
            )
        if self.switchover_base_seconds <= 0:
            raise SimulatorError(f"cluster {self.name}: switchover_base_seconds must be > 0")
        if self.number_of_node < 1:
            raise SimulatorError(f"cluster {self.name}: number_of_node must be >= 1")

    @property
    def sub_status(self) -> str:
        rank = {flag: i for i, flag in enumerate(_FLAG_ORDER)}
        ordered = sorted(self.flags, key=lambda f: (rank.get(f, len(rank)), f))
        return " | ".join(ordered)

    def mark_balanced(self) -> None:
        """UNBALANCED goes; other flags (READONLY, DEGRADED…) stay; NORMAL if none is left."""
        self.flags = (self.flags - {FLAG_UNBALANCED}) or {FLAG_NORMAL}

    def switchover_duration(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.switchover_base_seconds * (1 + LOAD_FACTOR * self.load))

    def action_progress(self, now: dt.datetime) -> dict[str, str]:
        if self.job is None or self.task_status != self.job.task:
            return {}
        pct = self.job.progress(now)
        return {} if pct is None else {self.job.task: pct}


def switchover_refusal(cluster: SimCluster) -> str | None:
    """Why DWS would refuse a switchover now (DWS.0112), or None if it would accept it.

    Any task refuses, including a previous ACTIVE_STANDY_SWITCHOVER_FAILURE: DWS reports every
    task, failed ones included, as the cluster being busy until it is cleared.
    """
    if cluster.status.upper() not in AVAILABLE_STATUSES:
        return f"cluster status is {cluster.status}, not available"
    if cluster.task_status:
        return f"task {cluster.task_status} is in progress"
    try:
        supported = Version.parse(cluster.version) >= SWITCHOVER_MIN_VERSION
    except ValueError:
        supported = False
    if not supported:
        return f"version {cluster.version} does not support switchback (needs {SWITCHOVER_MIN_VERSION} or later)"
    if FLAG_UNBALANCED not in cluster.flags:
        return f"cluster is not unbalanced (sub_status {cluster.sub_status})"
    return None


def parse_flags(value: str | Iterable[str]) -> set[str]:
    """`"UNBALANCED | READONLY"` or a list of flags -> the flag set (upper-case, trimmed)."""
    parts = value.split("|") if isinstance(value, str) else value
    flags = {p.strip().upper() for p in parts if p.strip()}
    return flags or {FLAG_NORMAL}
