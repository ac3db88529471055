"""The actor lock: one acting process per journal, released however its holder ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from journalkit import REPO

from controller.journal import ActorLock, JournalError, JournalInUse
from controller.journal.lock import lock_path


def test_the_lock_file_sits_beside_the_journal_and_holds_only_the_pid(path: Path) -> None:
    with ActorLock.acquire(path) as lock:
        assert lock.path == path.with_name("journal.db.lock") == lock_path(path)
        assert lock.path.read_text() == f"{os.getpid()}\n"
    assert not path.exists(), "locking does not create the journal"


def test_a_second_actor_is_refused_naming_the_holder(path: Path) -> None:
    with ActorLock.acquire(path), pytest.raises(JournalInUse) as caught:
        ActorLock.acquire(path)
    assert caught.value.pid == os.getpid()
    assert str(caught.value) == f"journal {path} is in use by pid {os.getpid()}"
    assert isinstance(caught.value, JournalError)  # the CLI's exit 1 path


def test_a_released_lock_can_be_taken_again_and_forgets_its_pid(path: Path) -> None:
    first = ActorLock.acquire(path)
    first.release()
    first.release()  # idempotent
    assert lock_path(path).read_text() == ""
    with ActorLock.acquire(path):
        pass


def test_a_holder_without_a_pid_yet_is_another_process(path: Path) -> None:
    with ActorLock.acquire(path):
        lock_path(path).write_text("")  # the instant between taking the lock and writing the pid
        with pytest.raises(JournalInUse, match="in use by another process") as caught:
            ActorLock.acquire(path)
    assert caught.value.pid is None


def test_the_lock_dies_with_its_holder(path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from controller.journal import ActorLock
        lock = ActorLock.acquire(Path({str(path)!r}))
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(JournalInUse) as caught:
            ActorLock.acquire(path)
        assert caught.value.pid == child.pid
    finally:
        child.kill()  # SIGKILL: no cleanup code runs, only the kernel releases the flock
        child.wait(timeout=10)
    with ActorLock.acquire(path) as lock:
        assert lock.path.read_text() == f"{os.getpid()}\n"


def test_a_lock_file_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    journal = tmp_path / "missing-dir" / "journal.db"
    with pytest.raises(JournalError, match=r"cannot open the lock file .*journal\.db\.lock"):
        ActorLock.acquire(journal)
