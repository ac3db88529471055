"""What the loop records: typed, frozen events, each written to every sink by the recorder.

An event carries everything its sinks need, so no sink asks the loop (or a guard) again. A sink may
answer an event with a completed copy (the journal adds the row id): later sinks, and the caller,
see that copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from controller.model import ClientImpact, Cluster, Decision, SwitchoverRecord, Verdict


class Origin(StrEnum):
    """How the controller came to follow a switchover."""

    POSTED = "posted"  # this process sent the POST
    EXTERNAL = "external"  # seen running, started by someone else
    ADOPTED = "adopted"  # journaled by another process of ours (a manual `switchover`)
    RESUMED = "resumed"  # in flight in the journal when this process started


@dataclass(frozen=True)
class Event:
    """Something the loop did or saw; the recorder hands it to every sink."""


@dataclass(frozen=True)
class DecisionMade(Event):
    """One cluster judged. `changed`: (action, reason) differs from the last journaled one (the
    journal sink answers whether it really wrote a row)."""

    verdict: Verdict
    changed: bool

    @property
    def decision(self) -> Decision:
        return self.verdict.decision


@dataclass(frozen=True)
class SwitchoverStarting(Event):
    """The row that must be durable before the POST (or for an external switchover, at first
    sight). The journal answers with the record carrying its id."""

    record: SwitchoverRecord
    origin: Origin = Origin.POSTED
    request_id: int | None = None
    #: The approval or announcement that let it run: used up with the row (journal row id).
    approval_id: int | None = None


@dataclass(frozen=True)
class SwitchoverStarted(Event):
    """A switchover is now followed (in flight) by this process."""

    record: SwitchoverRecord
    origin: Origin


@dataclass(frozen=True)
class SwitchoverConfirmed(Event):
    """DWS showed the task of a POST (or answered 200). `read_back`: learnt by reading back."""

    record: SwitchoverRecord
    at: dt.datetime
    read_back: bool = False


@dataclass(frozen=True)
class Refusal:
    """Why DWS refused a POST: the log event naming it, and the error."""

    event: str
    error: str
    error_type: str


@dataclass(frozen=True)
class SwitchoverFinished(Event):
    """A switchover ended: `record` carries its outcome (`refusal` when DWS refused the POST)."""

    record: SwitchoverRecord
    refusal: Refusal | None = None


@dataclass(frozen=True)
class LoadReading:
    """One cluster's load as the gate read it: the values (node metrics: the busiest node), the
    source that could not answer (if any), and the verdict's code (allow, load_high, load_unknown)."""

    cluster_id: str
    cluster_name: str
    values: Mapping[str, float]
    unknown_source: str | None
    code: str


@dataclass(frozen=True)
class LoadAssessed(Event):
    """The load gate read the load of this cycle's candidates (only those every other guard allows)."""

    readings: tuple[LoadReading, ...]


@dataclass(frozen=True)
class ProbeFinished(Event):
    """The data-plane probe of a switchover stopped (`tail` after its end): what clients felt.

    `errors` counts attempts that broke inside the probe itself (a bug, not an outage)."""

    record: SwitchoverRecord
    impact: ClientImpact
    errors: int = 0


@dataclass(frozen=True)
class ProbeSkipped(Event):
    """A switchover's probe could not start (no endpoint, no password): it goes on unmeasured."""

    record: SwitchoverRecord
    reason: str


@dataclass(frozen=True)
class ClustersObserved(Event):
    """The fleet at the end of a cycle (maps keyed by cluster id), for the per-cluster gauges."""

    clusters: Sequence[Cluster]
    unbalanced_since: Mapping[str, dt.datetime]
    window_open: Mapping[str, bool | None]
    paused: bool


@dataclass(frozen=True)
class BreakerOpened(Event):
    """A cluster's circuit breaker turned open: it stays blocked until a human resets it."""

    cluster_id: str
    cluster_name: str
    consecutive_failures: int


@dataclass(frozen=True)
class ClusterGone(Event):
    cluster_id: str
    cluster_name: str


@dataclass(frozen=True)
class CycleFinished(Event):
    at: dt.datetime
    seconds: float


@dataclass(frozen=True)
class CycleFailed(Event):
    at: dt.datetime
    seconds: float
    kind: str
    error: BaseException
    consecutive: int
    retry_in: str
    internal: bool


@dataclass(frozen=True)
class SwitchoverPlanned(Event):
    """Under `approval: announce`, a switchover is announced `announce_lead` before its slot:
    it runs at `slot` unless vetoed (`dws-rebalancer veto`)."""

    cluster_id: str
    cluster_name: str
    slot: dt.datetime
    detail: str
    #: When the slot is over (the end of its window occurrence): a default veto lasts until then.
    until: dt.datetime | None = None
    #: When it was announced (set with `until` by the cycle, which has the journal keep it).
    at: dt.datetime | None = None
    #: The announcement's journal row, as the journal sink answers it.
    announcement_id: int | None = None


@dataclass(frozen=True)
class ClusterStuck(Event):
    """A cluster unbalanced for longer than `notify.stuck_after`, whatever holds it."""

    cluster_id: str
    cluster_name: str
    since: dt.datetime
    reason: str
    detail: str


@dataclass(frozen=True)
class ApprovalStateChanged(Event):
    """An unbalanced cluster's standing with people changed (`guards.approval.ApprovalState`
    values; None: no approval applies, or the cluster is balanced again)."""

    cluster_id: str
    cluster_name: str
    state: str | None
    slot: dt.datetime | None = None
