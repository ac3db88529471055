"""The shared SQLite connection: one lock, one short transaction per call, errors naming the file."""

from __future__ import annotations

import copy
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from controller.journal.errors import JournalError

T = TypeVar("T")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT; a failing body or COMMIT (e.g. busy) rolls back, never leaves
    the shared connection inside an open transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


#: The implicit target of a configuration without `targets:` (`controller.settings.IMPLICIT_TARGET`).
DEFAULT_TARGET = "default"
#: The schema version that keys clusters and requests by target.
TARGETS_SCHEMA = 5


class Store:
    """One open SQLite file, safe to share across threads: every call holds the lock briefly."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, created: bool) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.path = path
        self.created = created
        #: Opened with `Journal.open_read_only`: readers (`status`) must not try to write.
        self.read_only = False
        #: The target whose clusters this handle writes and whose in-flight work it reads
        #: (`scoped`); the journal file is shared by every target of one controller.
        self.target = DEFAULT_TARGET

    @functools.cached_property
    def knows_targets(self) -> bool:
        """Whether the file has the targets of schema v5: one read as it is (read-only, written
        by an older release still running) may predate them; its rows are all `default`'s."""
        found = self._read("PRAGMA user_version", {}, lambda row: row[0])
        return bool(found) and int(found[0]) >= TARGETS_SCHEMA

    def scoped(self, target: str) -> Self:
        """This journal as one target sees it: the same file, connection and lock."""
        view = copy.copy(self)
        view.target = target
        return view

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc

    def _parse(self, convert: Callable[[sqlite3.Row], T], rows: Iterable[sqlite3.Row]) -> list[T]:
        try:
            return [convert(row) for row in rows]
        except ValueError as exc:  # hand-edited, or written by a release with more enum values
            raise JournalError(
                f"journal {self.path}: a row this release cannot read: {exc}"
            ) from exc

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; `durable` fsyncs its commit (WAL + NORMAL only survives a crash)."""
        with self._lock, self._errors():
            if durable:
                self._conn.execute("PRAGMA synchronous = FULL")
            try:
                with transaction(self._conn) as conn:
                    yield conn
            finally:
                if durable:
                    self._conn.execute("PRAGMA synchronous = NORMAL")

    def _read(
        self, sql: str, params: Mapping[str, Any], convert: Callable[[sqlite3.Row], T]
    ) -> list[T]:
        """One query, so one consistent snapshot."""
        with self._lock, self._errors():
            return self._parse(convert, self._conn.execute(sql, params))
