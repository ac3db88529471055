"""The actor lock: at most one process acts on DWS per journal (an flock on `<journal>.lock`).

`run`, `once` and `switchover` hold it for as long as they run; everything else (pause, resume,
reset-breaker, status, history) works beside the holder through SQLite's own short locks. The
kernel drops an flock when its holder dies, however it dies, so a crash never leaves it stuck.
The file holds only the holder's pid, for the "in use by pid N" message: nothing secret.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Self

from controller.journal.errors import JournalError


class JournalInUse(JournalError):
    """Another process holds the journal's actor lock."""

    def __init__(self, journal: Path, pid: int | None) -> None:
        self.pid = pid
        holder = "another process" if pid is None else f"pid {pid}"
        super().__init__(f"journal {journal} is in use by {holder}")


def lock_path(journal: Path) -> Path:
    return journal.with_name(f"{journal.name}.lock")


class ActorLock:
    """An exclusive, non-blocking flock, released on `release()`, on exit, or when the process dies."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, journal: Path) -> ActorLock:
        """Take the lock or raise `JournalInUse` at once: a second actor must not wait its turn."""
        path = lock_path(journal)
        try:
            # O_CLOEXEC: a child process (exec'd) must not inherit, and so extend, the lock.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise JournalError(
                f"journal {journal}: cannot open the lock file {path} ({exc.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise JournalInUse(journal, holder) from None
        except OSError as exc:  # e.g. a filesystem without flock: acting unguarded is not safe
            os.close(fd)
            raise JournalError(f"journal {journal}: cannot lock {path} ({exc.strerror})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # a stale pid would blame a process that has let go
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    """The holder's pid; None while it has not written it yet (or the file was edited)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
        return pid if pid > 0 else None
    return None
