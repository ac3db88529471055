"""Switchover requests: `switchover` beside a running controller asks; the controller answers.

The CLI writes a pending row; the controller's next cycle carries it out through the guards and
marks it `done` (in the same transaction as the switchover row, before the POST) or `refused`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from controller.journal import rows
from controller.journal.errors import JournalError
from controller.journal.records import RequestState, SwitchoverRequest
from controller.journal.store import DEFAULT_TARGET, Store

_INSERT = """
INSERT INTO switchover_requests (cluster, ignore_window, requested_at, actor, state, target)
VALUES (?, ?, ?, ?, 'pending', ?)"""
_SETTLE = """
UPDATE switchover_requests SET state = ?, handled_at = ?, switchover_id = ?, reason = ?, detail = ?
WHERE id = ? AND state = 'pending'"""


class SwitchoverRequests(Store):
    def request_switchover(
        self, cluster: str, *, ignore_window: bool, at: dt.datetime, by: str | None = None
    ) -> SwitchoverRequest:
        """Record a pending request (durably: the operator's word must survive a crash)."""
        with self._write(durable=True) as conn:
            row = (cluster, int(ignore_window), rows.text(at), by, self.target)
            cursor = conn.execute(_INSERT, row)
        request = self.switchover_request(_rowid(cursor))
        assert request is not None  # just inserted; requests are never deleted
        return request

    def switchover_request(self, id: int) -> SwitchoverRequest | None:
        sql = "SELECT * FROM switchover_requests WHERE id = :id"
        found = self._read(sql, {"id": id}, rows.request)
        return found[0] if found else None

    def pending_requests(self) -> list[SwitchoverRequest]:
        """This target's requests still to be answered (each target answers its own)."""
        if not self.knows_targets:  # every request is the implicit target's
            if self.target != DEFAULT_TARGET:
                return []
            sql = "SELECT * FROM switchover_requests WHERE state = 'pending' ORDER BY id"
            return self._read(sql, {}, rows.request)
        sql = (
            "SELECT * FROM switchover_requests WHERE state = 'pending' AND target = :target"
            " ORDER BY id"
        )
        return self._read(sql, {"target": self.target}, rows.request)

    def refuse_request(
        self, id: int, *, at: dt.datetime, reason: str, detail: str
    ) -> SwitchoverRequest:
        """Mark a pending request as not carried out, saying why."""
        with self._write(durable=True) as conn:
            settle(conn, self.path, id, RequestState.REFUSED, at, reason=reason, detail=detail)
        request = self.switchover_request(id)
        assert request is not None
        return request


def settle(
    conn: sqlite3.Connection,
    path: Path,
    id: int,
    state: RequestState,
    at: dt.datetime,
    *,
    switchover_id: int | None = None,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    """Move a pending request to its end state inside the caller's transaction.

    Refuses a request that is missing or already settled: each request is acted on once.
    """
    values = (state.value, rows.text(at), switchover_id, reason, rows.clip(detail), id)
    if conn.execute(_SETTLE, values).rowcount == 0:
        raise JournalError(f"journal {path}: no pending switchover request {id}")


def _rowid(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:  # an INSERT always sets it; this guards against misuse
        raise JournalError("switchover request was not inserted")
    return cursor.lastrowid
