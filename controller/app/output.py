"""Rendering decisions, cluster views and history for the terminal (table) or machines (JSON lines)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, TextIO

from controller.http.status import approval_json, decision_json, switchover_json
from controller.journal import ApprovalEntry, HistoryItem, OperatorEvent
from controller.loop.snapshot import ClusterView
from controller.model import Decision, SwitchoverRecord


def _short(when: dt.datetime | None) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "-"


def _table(rows: list[list[str]], out: TextIO) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def decision_row(decision: Decision) -> dict[str, Any]:
    return {
        "cluster_id": decision.cluster_id,
        "cluster_name": decision.cluster_name,
        **(decision_json(decision) or {}),
    }


def print_decisions(
    decisions: Sequence[Decision], fmt: str, out: TextIO, *, target: str | None = None
) -> None:
    """`target`: a fleet's target name (a `target` key, or a heading over its table)."""
    if fmt == "json":
        for decision in decisions:
            out.write(json.dumps(_targeted(decision_row(decision), target)) + "\n")
        return
    _heading(target, out)
    rows = [["CLUSTER", "ACTION", "REASON", "NEXT ELIGIBLE", "DETAIL"]]
    rows += [
        [d.cluster_name, d.action.value, d.reason.value, _short(d.next_eligible), d.detail]
        for d in decisions
    ]
    _table(rows, out)


def print_views(
    views: Sequence[ClusterView], fmt: str, out: TextIO, *, target: str | None = None
) -> None:
    if fmt == "json":
        for view in views:
            out.write(json.dumps(_targeted(_view_json(view), target)) + "\n")
        return
    _heading(target, out)
    rows = [["CLUSTER", "STATE", "WOULD", "REASON", "NEXT ELIGIBLE", "DETAIL"]]
    _table(rows + [_view_cells(view) for view in views], out)


def _targeted(row: dict[str, Any], target: str | None) -> dict[str, Any]:
    return row if target is None else {"target": target, **row}


def _heading(target: str | None, out: TextIO) -> None:
    if target is not None:
        out.write(f"target {target}:\n")


def _view_json(view: ClusterView) -> dict[str, Any]:
    c = view.cluster
    return {
        "cluster_id": c.id,
        "cluster_name": c.name,
        "status": c.status,
        "sub_status": sorted(c.sub_status),
        "task_status": c.task_status,
        "version": c.raw_version,
        "window_open": view.window_open,
        **(decision_json(view.decision) or {}),
        "approval": approval_json(view.history.approval if view.history else None),
    }


def _view_cells(view: ClusterView) -> list[str]:
    c, d = view.cluster, view.decision
    state = "|".join(sorted(c.sub_status)) or c.status
    if c.task_status:
        state += f" ({c.task_status})"
    if d is None:
        return [c.name, state, "-", "-", _short(None), ""]
    return [c.name, state, d.action.value, d.reason.value, _short(d.next_eligible), d.detail]


def _history_row(item: HistoryItem) -> tuple[dict[str, Any], str]:
    """One history item as a JSON object and as a line of text."""
    if isinstance(item, SwitchoverRecord):
        return _switchover_row(item)
    if isinstance(item, Decision):
        text = (
            f"{item.cluster_name}  decision {item.action.value}/{item.reason.value}: {item.detail}"
        )
        return {"type": "decision", **decision_row(item)}, f"{_short(item.at)}  {text}"
    if isinstance(item, ApprovalEntry):
        return _approval_row(item)
    return _operator_row(item)


def _switchover_row(item: SwitchoverRecord) -> tuple[dict[str, Any], str]:
    outcome = item.outcome.value if item.outcome else "in flight"
    took = f", interruption {item.interruption_seconds:.0f}s" if item.interruption_seconds else ""
    if item.load_at_trigger:  # what the load gate saw, to set against the interruption
        took += ", load " + ", ".join(f"{k}={v:g}" for k, v in sorted(item.load_at_trigger.items()))
    felt = item.client.interruption_seconds if item.client else None
    took += f", clients {felt:.0f}s" if felt is not None else ""  # what the probe measured
    error = f": {item.error}" if item.error else ""
    row = {
        "type": "switchover",
        "cluster_id": item.cluster_id,
        "cluster_name": item.cluster_name,
        **(switchover_json(item) or {}),
    }
    text = f"{item.cluster_name}  switchover ({item.trigger.value}) {outcome}{took}{error}"
    return row, f"{_short(item.started)}  {text}"


def _operator_row(item: OperatorEvent) -> tuple[dict[str, Any], str]:
    row = {
        "type": item.kind.value,
        "at": item.at.isoformat(),
        "cluster_id": item.cluster_id,
        "cluster_name": item.cluster_name,
        "by": item.by,
        "reason": item.reason,
    }
    target = item.cluster_name or item.cluster_id or "all clusters"
    why = f": {item.reason}" if item.reason else ""
    return row, f"{_short(item.at)}  {target}  {item.kind.value} by {item.by or '?'}{why}"


def _approval_row(item: ApprovalEntry) -> tuple[dict[str, Any], str]:
    row = {
        "type": item.kind.value,
        "at": item.at.isoformat(),
        "cluster_id": item.cluster_id,
        "cluster_name": item.cluster_name,
        "by": item.by,
        "reason": item.reason,
        "until": item.until.isoformat(),
        "slot": item.slot.isoformat() if item.slot else None,
        "switchover_id": item.switchover_id,
    }
    target = item.cluster_name or item.cluster_id
    slot = f", slot {_short(item.slot)}" if item.slot else ""
    used = f", used by switchover {item.switchover_id}" if item.switchover_id else ""
    why = f": {item.reason}" if item.reason else ""
    text = f"{target}  {item.kind.value} by {item.by or '?'} until {_short(item.until)}{slot}{used}"
    return row, f"{_short(item.at)}  {text}{why}"


def print_history(items: Sequence[HistoryItem], fmt: str, out: TextIO) -> None:
    for item in items:
        row, text = _history_row(item)
        out.write((json.dumps(row) if fmt == "json" else text) + "\n")
