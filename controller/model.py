"""Domain values shared by every layer: clusters as observed, guard verdicts, decisions, switchovers.

Pure data, no I/O. Parsing of raw API JSON into these values lives in `controller.dws.parse`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import total_ordering

#: `status` values that mean the cluster is up (older docs say AVAILABLE, newer ones ACTIVE).
AVAILABLE_STATUSES = frozenset({"AVAILABLE", "ACTIVE"})
#: `task_status` while a switchover runs (the vendor's spelling, "STANDY").
SWITCHOVER_TASK = "ACTIVE_STANDY_SWITCHOVER"
SWITCHOVER_FAILED_TASK = "ACTIVE_STANDY_SWITCHOVER_FAILURE"

FLAG_UNBALANCED = "UNBALANCED"
FLAG_DEGRADED = "DEGRADED"
FLAG_READONLY = "READONLY"
FLAG_NORMAL = "NORMAL"

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_VERSION_RE = re.compile(r"^\d+(\.\d+){2,3}$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A DWS version such as 8.1.1.202; compared segment by segment as integers.

    A 3-segment version compares as if it had a trailing 0 (8.1.1 == 8.1.1.0).
    """

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Version:
        text = text.strip()
        if not _VERSION_RE.match(text):
            raise ValueError(f"not a DWS version (want 3 or 4 dotted numbers): {text!r}")
        return cls(tuple(int(p) for p in text.split(".")))

    def _key(self) -> tuple[int, ...]:
        return self.parts + (0,) * (4 - len(self.parts))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)


@dataclass(frozen=True, slots=True)
class MaintainWindow:
    """The cluster's own DWS maintenance window: a weekday and HH:MM times in UTC.

    `end <= start` means the window crosses midnight into the next day.
    """

    day: str  # Mon..Sun
    start: dt.time
    end: dt.time


@dataclass(frozen=True, slots=True)
class Cluster:
    """One DWS cluster as observed in a list (or detail) response."""

    id: str
    name: str
    status: str
    sub_status: frozenset[str] = frozenset()
    task_status: str | None = None  # None = idle
    version: Version | None = None  # None = absent or unparseable: the version guard blocks
    raw_version: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    maintain_window: MaintainWindow | None = None  # detail only
    #: Where clients connect (endpoints[].connect_info, else public_endpoints): the probe's target.
    sql_endpoint: tuple[str, int] | None = None
    #: The ids of the cluster's nodes (`nodes[].id`): Cloud Eye's node metrics are per node.
    node_ids: tuple[str, ...] = ()
    updated: str | None = None
    #: Entries of one list answer carrying this id; more than one makes the listing ambiguous.
    listing_copies: int = 1

    @property
    def listing_ambiguous(self) -> bool:
        return self.listing_copies > 1

    @property
    def available(self) -> bool:
        return self.status.upper() in AVAILABLE_STATUSES

    @property
    def unbalanced(self) -> bool:
        return FLAG_UNBALANCED in self.sub_status

    @property
    def degraded(self) -> bool:
        return FLAG_DEGRADED in self.sub_status

    @property
    def readonly(self) -> bool:
        return FLAG_READONLY in self.sub_status

    @property
    def busy(self) -> bool:
        return self.task_status is not None

    @property
    def switching(self) -> bool:
        return self.task_status == SWITCHOVER_TASK

    @property
    def switchover_failed(self) -> bool:
        return self.task_status == SWITCHOVER_FAILED_TASK


class Reason(StrEnum):
    """Why a decision came out the way it did: a closed set shared by logs, metrics, status, journal."""

    NOT_UNBALANCED = "not_unbalanced"
    AMBIGUOUS_LISTING = "ambiguous_listing"
    PAUSED = "paused"
    EXCLUDED = "excluded"
    OPTED_OUT = "opted_out"
    CLUSTER_NOT_AVAILABLE = "cluster_not_available"
    TASK_IN_PROGRESS = "task_in_progress"
    DEGRADED = "degraded"
    READONLY = "readonly"
    SWITCHOVER_IN_PROGRESS = "switchover_in_progress"
    VERSION_UNSUPPORTED = "version_unsupported"
    DEBOUNCING = "debouncing"
    BLACKOUT = "blackout"
    OUTSIDE_WINDOW = "outside_window"
    COOLDOWN = "cooldown"
    DAILY_BUDGET = "daily_budget"
    BREAKER_OPEN = "breaker_open"
    PERMISSION_DENIED = "permission_denied"
    CONCURRENCY_LIMIT = "concurrency_limit"
    LOAD_HIGH = "load_high"
    LOAD_UNKNOWN = "load_unknown"
    AWAITING_QUIET_SLOT = "awaiting_quiet_slot"
    ANNOUNCED = "announced"
    VETOED = "vetoed"
    AWAITING_APPROVAL = "awaiting_approval"
    DRY_RUN = "dry_run"
    ELIGIBLE = "eligible"


class Action(StrEnum):
    NONE = "none"
    SWITCHOVER = "switchover"
    DRY_RUN = "dry_run"
    BLOCKED = "blocked"


class Trigger(StrEnum):
    CONTROLLER = "controller"
    MANUAL = "manual"
    EXTERNAL = "external"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    REJECTED = "rejected"


#: Outcomes that count towards the circuit breaker (a rejection is DWS saying "not now", not a failure).
FAILURE_OUTCOMES = frozenset({Outcome.FAILED, Outcome.TIMED_OUT})


@dataclass(frozen=True, slots=True)
class GuardResult:
    """A guard's verdict: allowed, or blocked with a reason, a human detail and maybe a retry time."""

    allowed: bool
    reason: Reason | None = None
    detail: str = ""
    next_eligible: dt.datetime | None = None


ALLOW = GuardResult(allowed=True)


def block(reason: Reason, detail: str, next_eligible: dt.datetime | None = None) -> GuardResult:
    return GuardResult(allowed=False, reason=reason, detail=detail, next_eligible=next_eligible)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the controller decided for one cluster in one cycle, and why."""

    cluster_id: str
    cluster_name: str
    action: Action
    reason: Reason
    detail: str
    at: dt.datetime
    next_eligible: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The whole judgement of one cluster: the decision, every guard's answer, the facts to record.

    Everything downstream (journal, metrics, logs, `/status`) reads these values; none of it asks
    a guard again.
    """

    decision: Decision
    #: Every guard asked, in registry order, with its answer (empty when the cluster is balanced:
    #: no guard is asked then). Guards bypassed by `--ignore-window` are absent.
    results: tuple[tuple[str, GuardResult], ...] = ()
    #: Whether the cluster's switchover window is open now; None when it cannot be known.
    window_open: bool | None = None
    #: The failure circuit breaker is open (`failure_limit` failures in a row).
    breaker_open: bool = False

    @property
    def next_eligible(self) -> dt.datetime | None:
        return self.decision.next_eligible

    @property
    def blocked_by(self) -> tuple[str, ...]:
        """The names of every guard that blocks now, in order (the first one gave the reason)."""
        return tuple(name for name, result in self.results if not result.allowed)


@dataclass(frozen=True, slots=True)
class ClientImpact:
    """What clients felt during one switchover, as the data-plane probe measured it.

    `interruption_seconds` is the longest run of failed probes (None: nothing was sampled);
    `failed_seconds` all failed time together; `first_failure` / `recovery` bound the worst run.
    """

    interruption_seconds: float | None
    failed_seconds: float
    first_failure: dt.datetime | None
    recovery: dt.datetime | None
    samples: int


@dataclass(frozen=True, slots=True)
class SwitchoverRecord:
    """One switchover, from trigger (or first sight) to its outcome. `outcome` is None while in flight."""

    cluster_id: str
    cluster_name: str
    trigger: Trigger
    started: dt.datetime
    id: int | None = None
    ended: dt.datetime | None = None
    outcome: Outcome | None = None
    interruption_seconds: float | None = None
    error: str | None = None
    #: True once DWS showed the task (or answered 200); False after an ambiguous POST until read back.
    confirmed: bool = True
    client: ClientImpact | None = None  # the probe's measurement, when one ran
    #: The load the gate saw when it was triggered (metric -> value), when a gate applied.
    load_at_trigger: Mapping[str, float] | None = None

    @property
    def in_flight(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True, slots=True)
class ApprovalMark:
    """One approval, veto or announcement of a cluster, as the approval guard reads it.

    `until`: when an approval expires, a veto ends, or an announced slot is over; `slot`: the
    announced instant (for a veto, the slot it vetoed, if any).
    """

    id: int
    at: dt.datetime
    until: dt.datetime
    by: str | None = None
    reason: str | None = None
    slot: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ApprovalFacts:
    """What people said about one cluster's next switchover, as read from the journal at `as_of`.

    Only live marks: an approval not used and not expired, an announcement not used, not vetoed
    and whose slot is not over, the veto ending last among those not ended.
    """

    as_of: dt.datetime
    approval: ApprovalMark | None = None
    announcement: ApprovalMark | None = None
    veto: ApprovalMark | None = None
    #: A person asked for this very switchover (`switchover CLUSTER`): that is its approval.
    requested: bool = False


@dataclass(frozen=True)
class Caution:
    """No switchover before `since + max(cooldown, at_least)`: the journal was unreadable, or
    the target is new to this controller (a resharding moved it here)."""

    since: dt.datetime
    at_least: dt.timedelta = dt.timedelta(0)
    why: str = "journal unreadable"


@dataclass(frozen=True, slots=True)
class History:
    """What the guards know beyond the cluster itself, assembled from the journal and the live fleet.

    Per-cluster facts plus the two fleet-wide ones the pause and concurrency guards need.
    """

    switchovers: tuple[SwitchoverRecord, ...] = ()  # this cluster, oldest first
    unbalanced_since: dt.datetime | None = None
    consecutive_failures: int = 0
    forbidden: str | None = None  # the 403 message, once DWS refused us for this cluster
    #: Set when the journal could not be read: act as if a switchover happened at this time.
    caution_since: dt.datetime | None = None
    #: The caution lasts at least this long, whatever the cooldown (a target new to this
    #: controller after a resharding: longer than any rollout), and says why it is there.
    caution_for: dt.timedelta = dt.timedelta(0)
    caution_why: str = "journal unreadable"
    paused: bool = False
    pause_reason: str | None = None
    in_flight_elsewhere: int = 0  # switchovers running on other clusters of the project
    in_flight_fleet: int = 0  # ... on other clusters of every target of this controller
    #: Approvals, vetoes and announcements; None when they were not read (the guard fails closed).
    approval: ApprovalFacts | None = None
