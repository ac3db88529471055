"""Opening a journal file: the read-only probe, application id, MIGRATIONS, moving a file aside."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from controller.journal import rows
from controller.journal.errors import JournalError, JournalUnreadable
from controller.journal.store import transaction

#: Stamped into the SQLite header ("DWSR") so a foreign database is never taken for a journal.
APPLICATION_ID = 0x44575352
MEMORY = ":memory:"

Migration = Callable[[sqlite3.Connection], None]

_SCHEMA_V1 = (
    f"PRAGMA application_id = {APPLICATION_ID}",
    # AUTOINCREMENT: ids are never reused after pruning, so an id in a log line stays unique.
    """CREATE TABLE switchovers (
        id INTEGER PRIMARY KEY AUTOINCREMENT, cluster_id TEXT NOT NULL, cluster_name TEXT NOT NULL,
        trigger TEXT NOT NULL, started TEXT NOT NULL, confirmed INTEGER NOT NULL,
        confirmed_at TEXT, ended TEXT, outcome TEXT, interruption_seconds REAL, error TEXT)""",
    "CREATE INDEX switchovers_by_cluster ON switchovers (cluster_id, started)",
    """CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, cluster_id TEXT NOT NULL, cluster_name TEXT NOT NULL,
        action TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
        next_eligible TEXT)""",
    "CREATE INDEX decisions_by_cluster ON decisions (cluster_id, id)",
    "CREATE TABLE unbalanced (cluster_id TEXT PRIMARY KEY, since TEXT NOT NULL)",
    """CREATE TABLE operator_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, cluster_id TEXT, at TEXT NOT NULL,
        actor TEXT, reason TEXT)""",
    "CREATE TABLE clusters (cluster_id TEXT PRIMARY KEY, name TEXT NOT NULL, named_at TEXT NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _schema_v1(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V1:
        conn.execute(statement)


_SCHEMA_V2 = (
    # Manual switchovers asked for beside a running controller (`switchover` while `run` holds
    # the actor lock): the controller carries them out and records what became of each.
    """CREATE TABLE switchover_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, ignore_window INTEGER NOT NULL,
        requested_at TEXT NOT NULL, actor TEXT, state TEXT NOT NULL, handled_at TEXT,
        switchover_id INTEGER, reason TEXT, detail TEXT)""",
    "CREATE INDEX switchover_requests_by_state ON switchover_requests (state, id)",
)


def _schema_v2(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V2:
        conn.execute(statement)


_SCHEMA_V3 = tuple(
    # What clients felt, from the data-plane probe (all empty when no probe ran).
    f"ALTER TABLE switchovers ADD COLUMN {column}"
    for column in (
        "client_interruption_seconds REAL",
        "client_failed_seconds REAL",
        "client_first_failure TEXT",
        "client_recovery TEXT",
        "probe_samples INTEGER",
        # The load gate's values when the switchover was triggered (JSON), to set against its
        # interruption.
        "load_at_trigger TEXT",
    )
)


def _schema_v3(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V3:
        conn.execute(statement)


_SCHEMA_V4 = (
    # Each cluster's hour-of-week load profile (JSON of `controller.load.profile.Profile`),
    # refreshed daily: a restart reads it here instead of fetching 28 days of Cloud Eye again.
    """CREATE TABLE load_profiles (
        cluster_id TEXT PRIMARY KEY, built TEXT NOT NULL, profile TEXT NOT NULL)""",
    # Each notification once per channel, across restarts: the channel key never holds the
    # secret (a hash prefix of the URL, or `smn:<topic>`); outcome sent, failed, dropped...
    """CREATE TABLE notifications (
        event_key TEXT NOT NULL, channel_key TEXT NOT NULL, outcome TEXT NOT NULL,
        at TEXT NOT NULL, PRIMARY KEY (event_key, channel_key))""",
    # Approvals, vetoes and announcements (`approval: manual | announce`); `switchover_id` marks
    # the approval or announcement a switchover used, set with the switchover row before the POST.
    """CREATE TABLE approvals (
        id INTEGER PRIMARY KEY AUTOINCREMENT, cluster_id TEXT NOT NULL, kind TEXT NOT NULL,
        at TEXT NOT NULL, actor TEXT, reason TEXT, until TEXT NOT NULL, slot TEXT,
        switchover_id INTEGER)""",
    "CREATE INDEX approvals_by_until ON approvals (until)",
)


def _schema_v4(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V4:
        conn.execute(statement)


_SCHEMA_V5 = (
    # A fleet: each cluster belongs to a target (its rows follow through cluster_id); rows of
    # a journal from before targets belong to the implicit one, `default`.
    "ALTER TABLE clusters ADD COLUMN target TEXT NOT NULL DEFAULT 'default'",
    "ALTER TABLE switchover_requests ADD COLUMN target TEXT NOT NULL DEFAULT 'default'",
    # The targets this journal's controller owns, since when: a target new to it (a resharding
    # moved it here) starts with caution.
    "CREATE TABLE targets (name TEXT PRIMARY KEY, owned_since TEXT NOT NULL)",
    # A journal that served one project already owned the implicit target (since its creation).
    """INSERT INTO targets SELECT 'default', coalesce(
        (SELECT value FROM meta WHERE key = 'created_at'), '1970-01-01T00:00:00.000000+00:00')
    WHERE EXISTS (SELECT 1 FROM switchovers) OR EXISTS (SELECT 1 FROM decisions)
        OR EXISTS (SELECT 1 FROM clusters)""",
)


def _schema_v5(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V5:
        conn.execute(statement)


#: Forward migrations: entry i takes a journal from schema version i to i + 1 (0 = empty file).
#: Each runs in the same transaction as its version bump. Released entries never change.
MIGRATIONS: list[Migration] = [_schema_v1, _schema_v2, _schema_v3, _schema_v4, _schema_v5]


def connect(
    path: Path, *, now: str, create: bool, timeout: float, migrations: Sequence[Migration]
) -> tuple[sqlite3.Connection, bool]:
    """Open (creating or migrating as needed); refuse a file that is not a usable journal.

    Returns the connection and whether the journal is new. `timeout` and `migrations` come from
    the caller so that `controller.journal.BUSY_TIMEOUT_SECONDS` and `.MIGRATIONS` stay the knobs.
    """
    in_memory = str(path) == MEMORY
    existed = not in_memory and path.exists()
    if existed:
        _probe(path, timeout, migrations)
    elif not create and not in_memory:
        raise JournalError(f"journal {path} does not exist")
    failure = JournalUnreadable if existed else JournalError
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            created = _prepare(conn, path, now, migrations)
        except (JournalError, sqlite3.Error):
            conn.close()
            raise
    except sqlite3.Error as exc:
        raise failure(f"journal {path}: cannot open ({exc})") from None
    return conn, created


def connect_read_only(
    path: Path, *, timeout: float, migrations: Sequence[Migration], follow: bool
) -> sqlite3.Connection:
    """Open an existing journal without ever writing it: no creation, no migration.

    `follow` is for a reader that polls while a controller writes: it reads through the live WAL.
    Otherwise a WAL file without a -wal (no writer has it open) is read `immutable`, because a
    plain read-only connection would leave an empty -wal/-shm beside it.
    """
    if not path.exists():
        raise JournalError(f"journal {path} does not exist")
    _probe(path, timeout, migrations)
    live = follow or Path(f"{path}-wal").exists() or not _wal_header(path)
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?{'mode=ro' if live else 'immutable=1'}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise JournalUnreadable(f"journal {path} is unreadable: {exc}") from None
    conn.row_factory = sqlite3.Row
    return conn


def move_aside(path: Path, now: dt.datetime) -> Path | None:
    """Move the journal (and its -wal/-shm) aside as `<name>.<UTC stamp>.bak`; None if absent."""
    if not path.exists():
        return None
    stamp = rows.utc(now).strftime("%Y%m%dT%H%M%SZ")
    backup, n = path.with_name(f"{path.name}.{stamp}.bak"), 0
    while backup.exists():  # a second reset within the same second must not overwrite the first
        n += 1
        backup = path.with_name(f"{path.name}.{stamp}.{n}.bak")
    try:
        # Sidecars first: a stale -wal left beside a fresh file would be replayed into it.
        for suffix in ("-wal", "-shm"):
            sidecar = Path(f"{path}{suffix}")
            if sidecar.exists():
                sidecar.rename(f"{backup}{suffix}")
        path.rename(backup)
    except OSError as exc:
        raise JournalError(f"journal {path}: cannot move aside ({exc.strerror})") from None
    return backup


def _wal_header(path: Path) -> bool:
    """Whether the file is in WAL mode (SQLite header bytes 18-19 are 2 then)."""
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:
        return False
    return header[18:20] == b"\x02\x02"


def _probe(path: Path, timeout: float, migrations: Sequence[Migration]) -> None:
    """Check an existing file read-only, so a foreign, corrupt or newer file is refused untouched."""
    # Without a -wal every committed page is in the main file: `immutable` reads it without
    # creating -wal/-shm beside a file that may not be ours.
    mode = "mode=ro" if Path(f"{path}-wal").exists() else "immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=timeout)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise JournalUnreadable(f"journal {path} is corrupt: {verdict}")
            _schema_version(conn, path, migrations)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise JournalUnreadable(f"journal {path} is unreadable: {exc}") from None


def _schema_version(conn: sqlite3.Connection, path: Path, migrations: Sequence[Migration]) -> int:
    """The file's schema version; 0 for an empty database (nothing in it to forget)."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    empty = conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
    if app_id == 0 and version == 0 and empty:
        return 0
    if app_id != APPLICATION_ID:
        raise JournalUnreadable(
            f"journal {path} is an SQLite database but not a dws-rebalancer journal"
        )
    if version > len(migrations):
        raise JournalUnreadable(
            f"journal {path} has schema version {version}, newer than this release knows"
            f" (up to {len(migrations)}): upgrade the controller or move the file aside"
        )
    return version


def _prepare(
    conn: sqlite3.Connection, path: Path, now: str, migrations: Sequence[Migration]
) -> bool:
    """Configure the connection and bring the schema up to date; True if the journal is new."""
    conn.row_factory = sqlite3.Row
    # WAL lets the CLI read and write while `run` holds the file open; where it is unavailable
    # (":memory:", some network filesystems) every commit is fsynced instead.
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    conn.execute(f"PRAGMA synchronous = {'NORMAL' if mode == 'wal' else 'FULL'}")
    with transaction(conn):
        # Checked again under the write lock: another process may have created it meanwhile.
        start = _schema_version(conn, path, migrations)
        for version, migrate in enumerate(migrations[start:], start + 1):
            migrate(conn)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"schema_v{version}_at", now)
            )
        if start == 0:
            conn.execute("INSERT INTO meta VALUES ('created_at', ?)", (now,))
    return start == 0
