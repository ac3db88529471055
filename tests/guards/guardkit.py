"""Builders for the guard tests: a healthy unbalanced cluster, a permissive policy, UTC instants."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from controller.model import Cluster, Outcome, SwitchoverRecord, Trigger, Version
from controller.settings import EffectivePolicy, Window

BASE_CLUSTER = Cluster(
    id="c-1",
    name="sales-dw",
    status="AVAILABLE",
    sub_status=frozenset({"UNBALANCED"}),
    version=Version.parse("8.2.1.230"),
    raw_version="8.2.1.230",
)

#: Every guard allows under this policy unless a test turns one concept back on.
OPEN_POLICY: dict[str, Any] = {
    "windows": [],
    "use_maintenance_window": False,
    "min_unbalanced_duration": 0,
    "cooldown": 0,
    "max_per_day": 100,
}


def utc(text: str) -> dt.datetime:
    """`utc("2026-11-27 01:12")` → an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def cluster(**changes: Any) -> Cluster:
    return dataclasses.replace(BASE_CLUSTER, **changes)


def policy(**fields: Any) -> EffectivePolicy:
    return EffectivePolicy(**{**OPEN_POLICY, **fields})


def window(days: str, start: str, end: str, zone: str = "UTC") -> Window:
    """`window("Mon,Fri", "22:00", "02:00", "Europe/Berlin")`."""
    return Window(days=days.split(","), start=start, end=end, timezone=zone)


def switchover(
    started: str,
    ended: str | None = None,
    outcome: Outcome | None = Outcome.SUCCEEDED,
    trigger: Trigger = Trigger.CONTROLLER,
) -> SwitchoverRecord:
    return SwitchoverRecord(
        cluster_id=BASE_CLUSTER.id,
        cluster_name=BASE_CLUSTER.name,
        trigger=trigger,
        started=utc(started),
        ended=utc(ended) if ended else None,
        outcome=outcome,
    )


def cases(table: list[tuple[Any, ...]]) -> list[Any]:
    """A parametrize table whose rows start with a readable id: `(id, *values)`."""
    return [pytest.param(*row[1:], id=row[0]) for row in table]
