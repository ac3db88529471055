"""The journal's own value types: operator events, the pause state, switchover requests, history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from controller.model import Decision, SwitchoverRecord


class RequestState(StrEnum):
    PENDING = "pending"
    DONE = "done"  # carried out: `switchover_id` names the switchover it started
    REFUSED = "refused"  # not carried out: `reason` and `detail` say why


class EventKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    BREAKER_RESET = "breaker_reset"


@dataclass(frozen=True)
class PauseState:
    paused: bool
    reason: str | None
    since: dt.datetime | None
    by: str | None


@dataclass(frozen=True)
class OperatorEvent:
    """Something a person did: pause, resume (fleet-wide, cluster_id None) or reset a breaker."""

    kind: EventKind
    at: dt.datetime
    cluster_id: str | None = None
    by: str | None = None
    reason: str | None = None
    cluster_name: str | None = None  # the latest name, filled in by `history` (not stored)


@dataclass(frozen=True)
class SwitchoverRequest:
    """A manual switchover asked for beside a running controller, which carries it out."""

    id: int
    cluster: str  # id or name, as the operator typed it; resolved by the controller
    ignore_window: bool
    requested_at: dt.datetime
    by: str | None = None
    state: RequestState = RequestState.PENDING
    handled_at: dt.datetime | None = None
    switchover_id: int | None = None
    reason: str | None = None  # a decision reason code, `unknown_cluster` or `expired`
    detail: str | None = None


class ApprovalKind(StrEnum):
    APPROVAL = "approval"  # `approve`: lets one switchover run under `approval: manual`
    VETO = "veto"  # `veto`: blocks until `until`, and cancels every approval and announcement before it
    ANNOUNCEMENT = "announcement"  # the controller's: a switchover planned for `slot`


@dataclass(frozen=True)
class ApprovalEntry:
    """An approval, veto or announcement row; `switchover_id` names the switchover that used it."""

    id: int
    kind: ApprovalKind
    cluster_id: str
    at: dt.datetime
    until: dt.datetime
    by: str | None = None
    reason: str | None = None
    slot: dt.datetime | None = None
    switchover_id: int | None = None
    cluster_name: str | None = None  # the latest name, filled in by `history` (not stored)


HistoryItem = SwitchoverRecord | Decision | OperatorEvent | ApprovalEntry


def when(item: HistoryItem) -> dt.datetime:
    return item.started if isinstance(item, SwitchoverRecord) else item.at


def renamed(item: HistoryItem, names: Mapping[str, str]) -> HistoryItem:
    if item.cluster_id is None or item.cluster_id not in names:
        return item
    return dataclasses.replace(item, cluster_name=names[item.cluster_id])
