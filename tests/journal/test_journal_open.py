"""Opening the journal: creation, reopening, migration, refusing unreadable files, reset."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from journalkit import (
    T0,
    V2_DDL,
    V3_DDL,
    V4_DDL,
    V5_DDL,
    at,
    crash_after,
    decision,
    finished,
    hand_made_v1,
    record,
    snapshot,
    user_version,
)

from controller import journal as journal_module
from controller.journal import Journal, JournalError, JournalUnreadable, PauseState
from controller.model import Outcome


def columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        t: [c[1] for c in conn.execute(f"PRAGMA table_info({t})")]
        for t in sorted(tables)
        if not t.startswith("sqlite_")
    }


def test_a_missing_file_is_created_and_reopened_without_the_created_flag(path: Path) -> None:
    with Journal.open(path, now=T0) as journal:
        assert journal.created
        assert journal.path == path
    assert path.exists()
    with Journal.open(path, now=at(1)) as journal:
        assert not journal.created


def test_a_fresh_journal_has_the_released_v5_schema(journal: Journal, tmp_path: Path) -> None:
    hand_made_v1(tmp_path / "v5.db")
    released = sqlite3.connect(tmp_path / "v5.db")
    released.executescript(V2_DDL + V3_DDL + V4_DDL + V5_DDL)
    fresh = sqlite3.connect(journal.path)
    assert columns(fresh) == columns(released)
    assert journal.schema_version == 5
    assert fresh.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    fresh.close()
    released.close()


def test_open_without_create_refuses_a_missing_file(path: Path) -> None:
    with pytest.raises(JournalError, match="does not exist"):
        Journal.open(path, now=T0, create=False)
    assert not path.exists()


def test_an_empty_file_holds_no_history_and_is_initialised(path: Path) -> None:
    path.touch()
    with Journal.open(path, now=T0) as journal:
        assert journal.created
        assert journal.switchovers() == []


def test_history_survives_a_reopen(path: Path) -> None:
    with Journal.open(path, now=T0) as journal:
        done = finished(journal, "c1", Outcome.SUCCEEDED, T0)
        journal.record_decision(decision("c1", when=at(2)))
        journal.set_unbalanced_since("c2", at(3))
        journal.set_paused(True, at=at(4), reason="freeze", by="alice")
    with Journal.open(path, now=at(10)) as journal:
        assert journal.switchovers() == [done]
        assert journal.decisions() == [decision("c1", when=at(2))]
        assert journal.unbalanced_since() == {"c2": at(3)}
        assert journal.pause_state() == PauseState(True, "freeze", at(4), "alice")


def test_an_in_flight_switchover_survives_a_crash_right_after_begin(path: Path) -> None:
    crash_after(
        path,
        """
        journal.begin_switchover(SwitchoverRecord("c1", "alpha", Trigger.CONTROLLER,
                                                  started=T0, confirmed=False))
        """,
    )
    with Journal.open(path, now=at(5)) as journal:
        assert not journal.created
        [survivor] = journal.in_flight()
    assert (survivor.cluster_id, survivor.started, survivor.confirmed) == ("c1", T0, False)


def test_memory_journal_works_for_tests() -> None:
    with Journal.open(journal_module.MEMORY, now=T0) as journal:
        assert journal.created
        assert journal.begin_switchover(record()).id == 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            dt.datetime(2024, 5, 1, 17, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
            T0,
        ),
        (dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC), T0.replace(microsecond=123456)),
    ],
)
def test_times_come_back_as_the_same_instant_in_utc(
    journal: Journal, given: dt.datetime, expected: dt.datetime
) -> None:
    journal.set_unbalanced_since("c1", given)
    journal.record_decision(decision("c1", when=given))
    [back] = journal.unbalanced_since().values()
    assert back == expected
    assert back.tzinfo is dt.UTC
    assert journal.decisions()[0].at.tzinfo is dt.UTC


def test_naive_times_are_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        journal.set_unbalanced_since("c1", dt.datetime(2024, 5, 1, 12))
    assert journal.unbalanced_since() == {}


# ---- refusing to forget --------------------------------------------------------------------


def _newer_schema(path: Path) -> None:
    Journal.open(path, now=T0).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(8192))


def _text_file(path: Path) -> None:
    path.write_text("cluster_id,started\nc1,2024-05-01\n")


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.close()


def _corrupt_pages(path: Path) -> None:
    with Journal.open(path, now=T0) as journal:
        for n in range(200):
            journal.record_decision(decision(f"c{n}", detail="x" * 200))
    data = bytearray(path.read_bytes())
    data[3 * 4096 : 3 * 4096 + 256] = b"\xff" * 256
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_newer_schema, "schema version 99, newer"),
        (_random_bytes, "not a database"),
        (_text_file, "not a database"),
        (_foreign_sqlite, "not a dws-rebalancer journal"),
        (_corrupt_pages, "corrupt"),
    ],
)
def test_an_unusable_file_is_refused_and_left_byte_identical(
    path: Path, make: Callable[[Path], None], message: str
) -> None:
    make(path)
    before = snapshot(path.parent)
    with pytest.raises(JournalUnreadable, match=message) as caught:
        Journal.open(path, now=T0)
    assert str(path) in str(caught.value)
    assert snapshot(path.parent) == before


def test_a_locked_file_is_refused(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Journal.open(path, now=T0).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_SECONDS", 0.01)
    try:
        with pytest.raises(JournalUnreadable, match="locked"):
            Journal.open(path, now=T0)
    finally:
        holder.close()


def test_a_row_this_release_cannot_parse_names_the_file(journal: Journal) -> None:
    finished(journal, "c1", Outcome.FAILED, T0)
    conn = sqlite3.connect(journal.path)
    conn.execute("UPDATE switchovers SET outcome = 'exploded'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match=f"journal {journal.path}: a row .*'exploded'"):
        journal.switchovers()


# ---- migrations ----------------------------------------------------------------------------


def _add_note_column(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE switchovers ADD COLUMN note TEXT")
    conn.execute("UPDATE switchovers SET note = 'from v1'")


def test_a_hand_made_v1_journal_opens_with_its_history(path: Path) -> None:
    hand_made_v1(path)
    with Journal.open(path, now=T0) as journal:
        assert not journal.created
        [old] = journal.switchovers()
        assert journal.pause_state() == PauseState(True, "freeze", at(2), "alice")
    assert (old.cluster_name, old.outcome, old.interruption_seconds) == (
        "alpha",
        Outcome.SUCCEEDED,
        4.5,
    )


def test_an_older_journal_is_migrated_forward_keeping_its_rows(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hand_made_v1(path)
    monkeypatch.setattr(
        journal_module, "MIGRATIONS", [*journal_module.MIGRATIONS, _add_note_column]
    )
    latest = len(journal_module.MIGRATIONS)
    with Journal.open(path, now=at(30)) as journal:
        assert not journal.created
        assert [s.cluster_name for s in journal.switchovers()] == ["alpha"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT note FROM switchovers").fetchall() == [("from v1",)]
    stamps = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'schema_v%'"))
    assert stamps == {
        f"schema_v{n}_at": at(30).isoformat(timespec="microseconds") for n in (2, 3, 4, 5, 6)
    }
    conn.close()
    assert user_version(path) == latest


def test_a_v1_journal_gains_an_empty_request_table_and_keeps_its_rows(path: Path) -> None:
    hand_made_v1(path)
    with Journal.open(path, now=at(30)) as journal:
        assert journal.schema_version == 5
        assert journal.pending_requests() == []
        assert [s.cluster_name for s in journal.switchovers()] == ["alpha"]
        assert journal.pause_state().reason == "freeze"
        asked = journal.request_switchover("alpha", ignore_window=False, at=at(31))
    assert asked.id == 1
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_v2_at'").fetchone() == (
        at(30).isoformat(timespec="microseconds"),
    )
    conn.close()


def test_a_failing_migration_leaves_the_journal_at_its_old_version(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        _add_note_column(conn)
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    hand_made_v1(path)
    monkeypatch.setattr(journal_module, "MIGRATIONS", [*journal_module.MIGRATIONS, broken])
    with pytest.raises(JournalUnreadable, match="no_such_table"):
        Journal.open(path, now=T0)
    assert user_version(path) == 1
    conn = sqlite3.connect(path)
    assert "note" not in columns(conn)["switchovers"]
    conn.close()


# ---- reset ---------------------------------------------------------------------------------


def test_reset_keeps_a_backup_and_a_fresh_journal_opens(path: Path) -> None:
    crash_after(  # leaves -wal and -shm holding the row, as a killed controller would
        path,
        "journal.begin_switchover(SwitchoverRecord('c1', 'alpha', Trigger.CONTROLLER, started=T0))",
    )
    assert Path(f"{path}-wal").exists()
    backup = Journal.reset(path, now=T0)
    assert backup == path.with_name("journal.db.20240501T120000Z.bak")
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "journal.db.20240501T120000Z.bak",
        "journal.db.20240501T120000Z.bak-shm",
        "journal.db.20240501T120000Z.bak-wal",
    ]
    with Journal.open(backup, now=T0) as old:
        assert [s.cluster_name for s in old.in_flight()] == ["alpha"]
    with Journal.open(path, now=T0) as fresh:
        assert fresh.created
        assert fresh.in_flight() == []


def test_a_second_reset_in_the_same_second_keeps_both_backups(path: Path) -> None:
    Journal.open(path, now=T0).close()
    first = Journal.reset(path, now=T0)
    Journal.open(path, now=T0).close()
    second = Journal.reset(path, now=T0.replace(microsecond=500))
    assert first is not None
    assert second is not None
    assert (first.name, second.name) == (
        "journal.db.20240501T120000Z.bak",
        "journal.db.20240501T120000Z.1.bak",
    )
    assert first.exists()
    assert second.exists()


def test_reset_without_a_journal_does_nothing(path: Path) -> None:
    assert Journal.reset(path, now=T0) is None
    assert list(path.parent.iterdir()) == []
