"""The journal: the controller's SQLite memory across restarts (switchovers, decisions, pause, debounce).

One process at a time acts from it (`ActorLock`); others read it or write short operator rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

from controller.journal import rows, schema
from controller.journal.approvals import Approvals, prune_approvals, use_approval
from controller.journal.errors import JournalError, JournalUnreadable
from controller.journal.lock import ActorLock, JournalInUse
from controller.journal.notifications import Notifications
from controller.journal.profiles import LoadProfiles
from controller.journal.records import (
    ApprovalEntry,
    ApprovalKind,
    EventKind,
    HistoryItem,
    OperatorEvent,
    PauseState,
    RequestState,
    SwitchoverRequest,
    renamed,
    when,
)
from controller.journal.requests import SwitchoverRequests, settle
from controller.journal.schema import APPLICATION_ID, MEMORY, MIGRATIONS, Migration
from controller.journal.store import DEFAULT_TARGET
from controller.model import FAILURE_OUTCOMES, ClientImpact, Decision, Outcome, SwitchoverRecord

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_SECONDS",
    "MEMORY",
    "MIGRATIONS",
    "SWITCHOVER_RETENTION",
    "ActorLock",
    "ApprovalEntry",
    "ApprovalKind",
    "EventKind",
    "HistoryItem",
    "Journal",
    "JournalError",
    "JournalInUse",
    "JournalUnreadable",
    "Migration",
    "OperatorEvent",
    "PauseState",
    "RequestState",
    "SwitchoverRequest",
]

#: Every cluster with its latest name and target; a journal from before targets has only `default`.
_CLUSTERS = {
    True: "SELECT cluster_id, name, target FROM clusters",
    False: "SELECT cluster_id, name, 'default' FROM clusters",
}
#: How long a call waits for another process (the CLI, the controller) to release the file.
BUSY_TIMEOUT_SECONDS = 5.0
#: Cooldown and the daily budget look back a day or two; a month and a bit keeps the audit trail.
SWITCHOVER_RETENTION = dt.timedelta(days=35)


class Journal(SwitchoverRequests, Approvals, LoadProfiles, Notifications):
    """One open journal file. Every method is one short transaction; safe to share across threads."""

    @classmethod
    def open(cls, path: Path | str, *, now: dt.datetime, create: bool = True) -> Journal:
        """Open (creating or migrating as needed); refuse a file that is not a usable journal."""
        now_text = rows.text(now)
        path = Path(path)
        # Module globals read at call time, so rebinding them on controller.journal takes effect.
        conn, created = schema.connect(
            path, now=now_text, create=create, timeout=BUSY_TIMEOUT_SECONDS, migrations=MIGRATIONS
        )
        return cls(conn, path, created=created)

    @classmethod
    def open_read_only(cls, path: Path | str, *, follow: bool = False) -> Journal:
        """Open an existing journal for reading only: never created, migrated or written.

        An older schema reads as it is. `follow` keeps seeing what a running controller commits.
        """
        conn = schema.connect_read_only(
            Path(path), timeout=BUSY_TIMEOUT_SECONDS, migrations=MIGRATIONS, follow=follow
        )
        journal = cls(conn, Path(path), created=False)
        journal.read_only = True
        return journal

    @property
    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version", {}, lambda row: row[0])[0])

    @classmethod
    def reset(cls, path: Path | str, *, now: dt.datetime) -> Path | None:
        """Move the journal (and its -wal/-shm) aside as `<name>.<UTC stamp>.bak`; None if absent."""
        return schema.move_aside(Path(path), now)

    # -- switchovers ---------------------------------------------------------------------------

    def begin_switchover(
        self,
        record: SwitchoverRecord,
        *,
        request_id: int | None = None,
        approval_id: int | None = None,
    ) -> SwitchoverRecord:
        """Insert a switchover (normally in flight) and fsync it: call this before sending the POST.

        `request_id` marks that switchover request done in the same transaction, so a crash
        after the POST can never leave the request pending, to be carried out a second time.
        `approval_id` (the approval or announcement that let it run) is marked used the same way.
        """
        if record.id is not None:
            raise ValueError(f"switchover already journaled with id {record.id}")
        row = rows.switchover_row(record)
        with self._write(durable=True) as conn:
            cursor = conn.execute(rows.INSERT_SWITCHOVER, row)
            self._note_name(conn, record.cluster_id, record.cluster_name, row["started"])
            if request_id is not None:
                done = RequestState.DONE
                settle(
                    conn,
                    self.path,
                    request_id,
                    done,
                    record.started,
                    switchover_id=cursor.lastrowid,
                )
            if approval_id is not None and cursor.lastrowid is not None:
                use_approval(conn, self.path, approval_id, cursor.lastrowid)
        return dataclasses.replace(record, id=cursor.lastrowid)

    def confirm_switchover(self, id: int, *, at: dt.datetime) -> None:
        """An ambiguous POST turned out to be accepted (read back from DWS)."""
        with self._write(durable=True) as conn:
            cursor = conn.execute(
                "UPDATE switchovers SET confirmed = 1, confirmed_at = coalesce(confirmed_at, ?) WHERE id = ?",
                (rows.text(at), id),
            )
            if cursor.rowcount == 0:
                raise JournalError(f"journal {self.path}: no switchover with id {id}")

    def record_client_impact(self, id: int, impact: ClientImpact) -> None:
        """The probe's measurement of a switchover (it may arrive after the switchover ended)."""
        values = (
            impact.interruption_seconds,
            impact.failed_seconds,
            rows.opt_text(impact.first_failure),
            rows.opt_text(impact.recovery),
            impact.samples,
            id,
        )
        with self._write(durable=True) as conn:
            conn.execute(
                "UPDATE switchovers SET client_interruption_seconds = ?, client_failed_seconds = ?,"
                " client_first_failure = ?, client_recovery = ?, probe_samples = ? WHERE id = ?",
                values,
            )

    def finish_switchover(
        self,
        id: int,
        *,
        ended: dt.datetime,
        outcome: Outcome,
        interruption_seconds: float | None,
        error: str | None = None,
    ) -> SwitchoverRecord:
        values = (rows.text(ended), outcome.value, interruption_seconds, rows.clip(error), id)
        with self._write(durable=True) as conn:
            row = conn.execute("SELECT outcome FROM switchovers WHERE id = ?", (id,)).fetchone()
            if row is None:
                raise JournalError(f"journal {self.path}: no switchover with id {id}")
            if row["outcome"] is not None:
                raise JournalError(
                    f"journal {self.path}: switchover {id} already finished ({row['outcome']})"
                )
            conn.execute(
                "UPDATE switchovers SET ended = ?, outcome = ?, interruption_seconds = ?, error = ?"
                " WHERE id = ?",
                values,
            )
            updated = conn.execute("SELECT * FROM switchovers WHERE id = ?", (id,))
            return self._parse(rows.switchover, updated)[0]

    def switchover(self, id: int) -> SwitchoverRecord | None:
        found = self._read("SELECT * FROM switchovers WHERE id = :id", {"id": id}, rows.switchover)
        return found[0] if found else None

    def in_flight(self) -> list[SwitchoverRecord]:
        """This target's switchovers not yet finished (each target adopts only its own)."""
        if not self.knows_targets:  # every row is the implicit target's
            if self.target != DEFAULT_TARGET:
                return []
            sql = "SELECT * FROM switchovers WHERE outcome IS NULL ORDER BY started, id"
            return self._read(sql, {}, rows.switchover)
        sql = (
            "SELECT s.* FROM switchovers s LEFT JOIN clusters c USING (cluster_id)"
            " WHERE s.outcome IS NULL AND coalesce(c.target, 'default') = :target"
            " ORDER BY s.started, s.id"
        )
        return self._read(sql, {"target": self.target}, rows.switchover)

    def switchovers(
        self,
        *,
        cluster_id: str | None = None,
        since: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[SwitchoverRecord]:
        """Switchovers started at or after `since`, oldest first; `limit` keeps the most recent."""
        return self._read(
            rows.SELECT_SWITCHOVERS, rows.filters(cluster_id, since, limit), rows.switchover
        )

    def consecutive_failures(self, cluster_id: str) -> int:
        """Failures since the last success or breaker reset, newest backwards; rejections ignored."""
        params = {"cluster": cluster_id}
        count = 0
        for outcome in self._read(
            rows.SELECT_FINISHED_SINCE_RESET, params, lambda r: Outcome(r[0])
        ):
            if outcome is Outcome.SUCCEEDED:
                break
            if outcome in FAILURE_OUTCOMES:
                count += 1
        return count

    def reset_breaker(self, cluster_id: str, *, at: dt.datetime, by: str | None = None) -> None:
        self._add_operator_event(EventKind.BREAKER_RESET, at, cluster_id=cluster_id, by=by)

    # -- decisions -----------------------------------------------------------------------------

    def record_decision(self, decision: Decision) -> bool:
        """Store the decision if its (action, reason) differs from the cluster's last one."""
        row = rows.decision_row(decision)
        with self._write() as conn:
            self._note_name(conn, decision.cluster_id, decision.cluster_name, row["at"])
            last = conn.execute(
                "SELECT action, reason FROM decisions WHERE cluster_id = ? ORDER BY id DESC LIMIT 1",
                (decision.cluster_id,),
            ).fetchone()
            if last is not None and (last["action"], last["reason"]) == (
                row["action"],
                row["reason"],
            ):
                return False
            conn.execute(rows.INSERT_DECISION, row)
        return True

    def decisions(
        self,
        *,
        cluster_id: str | None = None,
        since: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[Decision]:
        """Stored decision changes at or after `since`, oldest first; `limit` keeps the most recent."""
        return self._read(
            rows.SELECT_DECISIONS, rows.filters(cluster_id, since, limit), rows.decision
        )

    def last_decisions(self) -> dict[str, Decision]:
        sql = "SELECT * FROM decisions WHERE id IN (SELECT max(id) FROM decisions GROUP BY cluster_id)"
        return {decision.cluster_id: decision for decision in self._read(sql, {}, rows.decision)}

    # -- debounce and pause --------------------------------------------------------------------

    def set_unbalanced_since(self, cluster_id: str, since: dt.datetime | None) -> None:
        """Remember when a cluster was first seen unbalanced; None forgets it (balanced again)."""
        with self._write() as conn:
            if since is None:
                conn.execute("DELETE FROM unbalanced WHERE cluster_id = ?", (cluster_id,))
            else:
                conn.execute(
                    "INSERT INTO unbalanced VALUES (?, ?)"
                    " ON CONFLICT (cluster_id) DO UPDATE SET since = excluded.since",
                    (cluster_id, rows.text(since)),
                )

    def unbalanced_since(self) -> dict[str, dt.datetime]:
        sql = "SELECT cluster_id, since FROM unbalanced"
        return dict(self._read(sql, {}, lambda row: (row[0], rows.time(row[1]))))

    def set_paused(
        self, paused: bool, *, at: dt.datetime, reason: str | None = None, by: str | None = None
    ) -> None:
        kind = EventKind.PAUSE if paused else EventKind.RESUME
        self._add_operator_event(kind, at, by=by, reason=reason)

    def pause_state(self) -> PauseState:
        latest = self._read(rows.SELECT_LAST_PAUSE, {}, rows.event)
        if not latest:
            return PauseState(paused=False, reason=None, since=None, by=None)
        event = latest[0]
        return PauseState(
            paused=event.kind is EventKind.PAUSE, reason=event.reason, since=event.at, by=event.by
        )

    # -- history and housekeeping --------------------------------------------------------------

    def operator_events(
        self,
        *,
        cluster_id: str | None = None,
        since: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[OperatorEvent]:
        """Pauses, resumes and breaker resets, oldest first; a cluster filter keeps fleet-wide ones."""
        return self._read(
            rows.SELECT_OPERATOR_EVENTS, rows.filters(cluster_id, since, limit), rows.event
        )

    def cluster_names(self) -> dict[str, str]:
        """The latest name seen for every cluster id (names can change; ids cannot)."""
        return dict(self._read("SELECT cluster_id, name FROM clusters", {}, tuple))

    def clusters_matching(self, wanted: str) -> list[tuple[str, str, str]]:
        """(id, latest name, target) of the clusters `wanted` names: an id, a name, or
        `TARGET/NAME` (names may repeat across a fleet's projects; ids never do)."""
        target, _, name = wanted.rpartition("/")
        found = self._read(_CLUSTERS[self.knows_targets], {}, tuple)
        by_id = [row for row in found if row[0] == name and target in ("", row[2])]
        return by_id or [row for row in found if row[1] == name and target in ("", row[2])]

    def cluster_targets(self) -> dict[str, str]:
        """The target of every cluster id the journal knows."""
        return {
            cid: target for cid, _, target in self._read(_CLUSTERS[self.knows_targets], {}, tuple)
        }

    def owned_targets(self) -> dict[str, dt.datetime]:
        """The targets this journal's controller owned at its last start, and since when."""
        if not self.knows_targets:  # a journal from before targets served the implicit one
            return {DEFAULT_TARGET: dt.datetime.fromtimestamp(0, dt.UTC)}
        found = self._read("SELECT name, owned_since FROM targets", {}, tuple)
        return {name: rows.time(since) for name, since in found}

    def set_owned_targets(self, names: list[str], *, at: dt.datetime) -> None:
        """Record which targets are owned now: new ones since `at`, the others forgotten."""
        with self._write(durable=True) as conn:
            keep = ",".join("?" * len(names))
            conn.execute(f"DELETE FROM targets WHERE name NOT IN ({keep})", names)  # noqa: S608
            conn.executemany(
                "INSERT OR IGNORE INTO targets VALUES (?, ?)",
                [(name, rows.text(at)) for name in names],
            )

    def history(
        self,
        *,
        cluster_id: str | None = None,
        since: dt.datetime | None = None,
        limit: int | None = None,
        target: str | None = None,
    ) -> list[HistoryItem]:
        """Switchovers, decision changes and operator events merged by time, oldest first.

        Records carry the cluster's latest name, not the one it had then. `target` keeps that
        target's clusters and the fleet-wide events (a pause).
        """
        each = None if target is not None else limit  # the limit applies after the filter
        items: list[HistoryItem] = [
            *self.switchovers(cluster_id=cluster_id, since=since, limit=each),
            *self.decisions(cluster_id=cluster_id, since=since, limit=each),
            *self.operator_events(cluster_id=cluster_id, since=since, limit=each),
            *self.approval_entries(cluster_id=cluster_id, since=since, limit=each),
        ]
        if target is not None:
            targets = self.cluster_targets()
            items = [
                i
                for i in items
                if i.cluster_id is None or targets.get(i.cluster_id, DEFAULT_TARGET) == target
            ]
        items.sort(key=when)
        if limit is not None:
            items = items[max(0, len(items) - limit) :]
        names = self.cluster_names()
        return [renamed(item, names) for item in items]

    def prune(self, *, now: dt.datetime, retention: dt.timedelta) -> int:
        """Delete old decisions (keeping each cluster's latest) and finished switchovers; count rows."""
        if retention <= dt.timedelta(0):
            raise ValueError(f"retention must be positive, not {retention}")
        decisions_before = rows.text(now - retention)
        switchovers_before = rows.text(now - max(retention, SWITCHOVER_RETENTION))
        with self._write() as conn:
            deleted = conn.execute(rows.PRUNE_DECISIONS, (decisions_before,)).rowcount
            deleted += conn.execute(
                "DELETE FROM switchovers WHERE started < ? AND outcome IS NOT NULL",
                (switchovers_before,),
            ).rowcount
            deleted += prune_approvals(conn, switchovers_before)
        return deleted

    # -- plumbing ------------------------------------------------------------------------------

    def _add_operator_event(
        self,
        kind: EventKind,
        at: dt.datetime,
        *,
        cluster_id: str | None = None,
        by: str | None = None,
        reason: str | None = None,
    ) -> None:
        row = (kind.value, cluster_id, rows.text(at), by, reason)
        with self._write(durable=True) as conn:  # an operator's word must survive a node crash
            conn.execute(
                "INSERT INTO operator_events (kind, cluster_id, at, actor, reason) VALUES (?, ?, ?, ?, ?)",
                row,
            )

    def _note_name(self, conn: sqlite3.Connection, cluster_id: str, name: str, at: str) -> None:
        conn.execute(rows.UPSERT_NAME, (cluster_id, name, at, self.target))
