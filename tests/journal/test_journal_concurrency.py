"""Two processes on one file (`run` plus a CLI command) and several threads on one journal."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from journalkit import T0, at, decision, finished, record

from controller import journal as journal_module
from controller.journal import Journal, JournalError, PauseState
from controller.model import Outcome


@pytest.fixture
def cli(journal: Journal) -> Iterator[Journal]:
    """A second instance on the same file, as a CLI command opens it while `run` holds it."""
    with Journal.open(journal.path, now=at(1)) as second:
        yield second


def test_a_pause_from_the_cli_is_seen_by_the_running_controller(
    journal: Journal, cli: Journal
) -> None:
    assert not cli.created
    cli.set_paused(True, at=at(2), reason="incident", by="alice")
    assert journal.pause_state() == PauseState(True, "incident", at(2), "alice")
    cli.reset_breaker("c1", at=at(3))
    assert journal.consecutive_failures("c1") == 0


def test_the_cli_reads_what_the_controller_writes(journal: Journal, cli: Journal) -> None:
    done = finished(journal, "c1", Outcome.FAILED, T0)
    running = journal.begin_switchover(record("c2", started=at(5)))
    journal.record_decision(decision("c1", when=at(6)))
    assert cli.switchovers() == [done, running]
    assert cli.in_flight() == [running]
    assert cli.consecutive_failures("c1") == 1
    assert cli.last_decisions() == {"c1": decision("c1", when=at(6))}


def test_readers_are_not_blocked_by_an_open_write_transaction(
    journal: Journal, cli: Journal
) -> None:
    done = finished(journal, "c1", Outcome.SUCCEEDED, T0)
    writer = sqlite3.connect(journal.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM switchovers")
    try:
        assert cli.switchovers() == [done]  # WAL: the last committed state, without waiting
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_write_that_cannot_get_the_lock_is_a_clear_error(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_SECONDS", 0.01)
    with Journal.open(path, now=T0) as journal:
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(JournalError, match=f"journal {path}: database is locked"):
                journal.set_paused(True, at=T0)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        journal.set_paused(True, at=T0)  # the failed call left no transaction behind
        assert journal.pause_state().paused


def test_an_operator_write_waits_for_a_busy_writer_instead_of_failing(path: Path) -> None:
    """`pause` beside a running controller: SQLite's busy timeout makes it wait its turn."""
    with Journal.open(path, now=T0) as journal:
        writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        writer.execute("BEGIN IMMEDIATE")
        # A thread that sleeps, not threading.Timer: the CI reruns this under libfaketime,
        # whose shifted monotonic clock never lets a timed condition wait expire.
        releaser = threading.Thread(target=lambda: (time.sleep(0.3), writer.execute("COMMIT")))
        releaser.start()
        try:
            journal.set_paused(True, at=T0, reason="incident")  # blocked ~0.3 s, then written
        finally:
            releaser.join()
            writer.close()
        assert journal.pause_state().reason == "incident"


def test_threads_can_share_one_journal(journal: Journal) -> None:
    def work(cluster: str) -> None:
        for n in range(25):
            done = journal.begin_switchover(record(cluster, started=at(n)))
            assert done.id is not None
            journal.finish_switchover(
                done.id, ended=at(n + 1), outcome=Outcome.FAILED, interruption_seconds=None
            )

    threads = [threading.Thread(target=work, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.switchovers()) == 100
    assert [journal.consecutive_failures(f"c{i}") for i in range(4)] == [25] * 4
    assert journal.in_flight() == []
