"""Approvals, vetoes and announcements: what people (and the announcing controller) said, as rows.

`approve` and `veto` write a row beside a running controller, as `pause` does; the controller
writes announcements. Each cycle reads the live ones back as `ApprovalFacts` for the approval
guard. A veto cancels every approval and announcement of its cluster made before it (by row id,
which only grows); an approval or announcement is used once, by the switchover that names it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from controller.journal import rows
from controller.journal.errors import JournalError
from controller.journal.records import ApprovalEntry, ApprovalKind
from controller.journal.store import Store
from controller.model import ApprovalFacts, ApprovalMark

_INSERT = """
INSERT INTO approvals (cluster_id, kind, at, actor, reason, until, slot)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
# Live rows: vetoes not ended; approvals and announcements not used, not over, not vetoed since.
_SELECT_LIVE = """
SELECT * FROM approvals a
WHERE until > :now AND (
    kind = 'veto' OR (switchover_id IS NULL AND NOT EXISTS (
        SELECT 1 FROM approvals v WHERE v.kind = 'veto' AND v.cluster_id = a.cluster_id AND v.id > a.id
    )))
ORDER BY id"""
_SELECT_ENTRIES = """
SELECT * FROM (
    SELECT * FROM approvals
    WHERE (:cluster IS NULL OR cluster_id = :cluster) AND (:since IS NULL OR at >= :since)
    ORDER BY id DESC LIMIT :limit
) ORDER BY id"""
_USE = "UPDATE approvals SET switchover_id = ? WHERE id = ? AND switchover_id IS NULL AND kind <> 'veto'"


class Approvals(Store):
    def add_approval(
        self,
        kind: ApprovalKind,
        cluster_id: str,
        *,
        at: dt.datetime,
        until: dt.datetime,
        by: str | None = None,
        reason: str | None = None,
        slot: dt.datetime | None = None,
    ) -> ApprovalEntry:
        """Record one row durably: a person's word (or an announcement sent) must survive a crash."""
        values = (
            cluster_id,
            kind.value,
            rows.text(at),
            by,
            rows.clip(reason),
            rows.text(until),
            rows.opt_text(slot),
        )
        with self._write(durable=True) as conn:
            cursor = conn.execute(_INSERT, values)
            found = conn.execute("SELECT * FROM approvals WHERE id = ?", (cursor.lastrowid,))
            return self._parse(entry, found)[0]

    def approval_facts(self, now: dt.datetime) -> dict[str, ApprovalFacts]:
        """The live approvals, vetoes and announcements at `now`, by cluster id (one snapshot)."""
        if not self._has_approvals():
            return {}
        live = self._read(_SELECT_LIVE, {"now": rows.text(now)}, entry)
        return {cid: facts_of(marks, now) for cid, marks in _by_cluster(live).items()}

    def approval_entries(
        self,
        *,
        cluster_id: str | None = None,
        since: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[ApprovalEntry]:
        """Every row at or after `since`, oldest first; `limit` keeps the most recent."""
        if not self._has_approvals():
            return []
        return self._read(_SELECT_ENTRIES, rows.filters(cluster_id, since, limit), entry)

    def _has_approvals(self) -> bool:
        """False for a journal older than schema v4, read as it is (`history`, `status`)."""
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'approvals'"
        return bool(self._read(sql, {}, tuple))


def use_approval(conn: sqlite3.Connection, path: Path, id: int, switchover_id: int) -> None:
    """Mark an approval or announcement used by a switchover, inside the caller's transaction.

    Refuses one that is missing or already used: each allows one switchover.
    """
    if conn.execute(_USE, (switchover_id, id)).rowcount == 0:
        raise JournalError(f"journal {path}: no unused approval or announcement {id}")


def prune_approvals(conn: sqlite3.Connection, before: str) -> int:
    """Delete rows over before `before` (ISO text), inside the caller's transaction."""
    return conn.execute("DELETE FROM approvals WHERE until < ?", (before,)).rowcount


def facts_of(entries: Iterable[ApprovalEntry], now: dt.datetime) -> ApprovalFacts:
    """One cluster's facts from its live rows: the approval expiring first (used first), the
    newest announcement, and the veto ending last."""
    by_kind: dict[ApprovalKind, list[ApprovalMark]] = {kind: [] for kind in ApprovalKind}
    for item in entries:
        by_kind[item.kind].append(_mark(item))
    return ApprovalFacts(
        as_of=now,
        approval=min(by_kind[ApprovalKind.APPROVAL], key=lambda m: m.until, default=None),
        announcement=max(by_kind[ApprovalKind.ANNOUNCEMENT], key=lambda m: m.id, default=None),
        veto=max(by_kind[ApprovalKind.VETO], key=lambda m: m.until, default=None),
    )


def entry(row: sqlite3.Row) -> ApprovalEntry:
    return ApprovalEntry(
        id=row["id"],
        kind=ApprovalKind(row["kind"]),
        cluster_id=row["cluster_id"],
        at=rows.time(row["at"]),
        until=rows.time(row["until"]),
        by=row["actor"],
        reason=row["reason"],
        slot=rows.opt_time(row["slot"]),
        switchover_id=row["switchover_id"],
    )


def _mark(item: ApprovalEntry) -> ApprovalMark:
    return ApprovalMark(item.id, item.at, item.until, item.by, item.reason, item.slot)


def _by_cluster(entries: list[ApprovalEntry]) -> dict[str, list[ApprovalEntry]]:
    grouped: dict[str, list[ApprovalEntry]] = {}
    for item in entries:
        grouped.setdefault(item.cluster_id, []).append(item)
    return grouped
