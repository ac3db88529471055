"""The journal's own value types: operator events, the pause state, and merged history items."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from controller.model import Decision, SwitchoverRecord


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


HistoryItem = SwitchoverRecord | Decision | OperatorEvent


def when(item: HistoryItem) -> dt.datetime:
    return item.started if isinstance(item, SwitchoverRecord) else item.at


def renamed(item: HistoryItem, names: Mapping[str, str]) -> HistoryItem:
    if isinstance(item, OperatorEvent) or item.cluster_id not in names:
        return item
    return dataclasses.replace(item, cluster_name=names[item.cluster_id])
