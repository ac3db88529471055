"""Builders and helpers shared by the journal tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from controller import journal as journal_module
from controller.journal import Journal
from controller.model import Action, Decision, Outcome, Reason, SwitchoverRecord, Trigger

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[2]


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def record(
    cluster: str = "c1",
    *,
    started: dt.datetime = T0,
    name: str | None = None,
    trigger: Trigger = Trigger.CONTROLLER,
    confirmed: bool = True,
) -> SwitchoverRecord:
    return SwitchoverRecord(
        cluster, name or f"name-{cluster}", trigger, started=started, confirmed=confirmed
    )


def decision(
    cluster: str = "c1",
    action: Action = Action.BLOCKED,
    reason: Reason = Reason.COOLDOWN,
    *,
    when: dt.datetime = T0,
    detail: str = "",
    name: str | None = None,
) -> Decision:
    return Decision(cluster, name or f"name-{cluster}", action, reason, detail, when)


def finished(
    journal: Journal, cluster: str, outcome: Outcome, started: dt.datetime
) -> SwitchoverRecord:
    """A switchover that started at `started` and ended a minute later with `outcome`."""
    begun = journal.begin_switchover(record(cluster, started=started))
    assert begun.id is not None
    return journal.finish_switchover(
        begun.id,
        ended=started + dt.timedelta(minutes=1),
        outcome=outcome,
        interruption_seconds=None,
    )


def snapshot(directory: Path) -> dict[str, str]:
    """Every file in `directory` with the hash of its bytes: proof that nothing was touched."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def crash_after(path: Path, body: str) -> None:
    """Run `body` (with `journal` open on `path`) in a child that dies without closing anything."""
    script = textwrap.dedent(
        f"""
        import datetime as dt, os
        from controller.journal import Journal
        from controller.model import *
        T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
        journal = Journal.open({str(path)!r}, now=T0)
        """
    )
    script += textwrap.dedent(body) + "\nos._exit(9)\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert done.returncode == 9


# The v1 schema exactly as released. Released schemas never change: a change is a new migration.
V1_DDL = """
CREATE TABLE switchovers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster_id TEXT NOT NULL, cluster_name TEXT NOT NULL,
    trigger TEXT NOT NULL, started TEXT NOT NULL, confirmed INTEGER NOT NULL,
    confirmed_at TEXT, ended TEXT, outcome TEXT, interruption_seconds REAL, error TEXT);
CREATE INDEX switchovers_by_cluster ON switchovers (cluster_id, started);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster_id TEXT NOT NULL, cluster_name TEXT NOT NULL,
    action TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
    next_eligible TEXT);
CREATE INDEX decisions_by_cluster ON decisions (cluster_id, id);
CREATE TABLE unbalanced (cluster_id TEXT PRIMARY KEY, since TEXT NOT NULL);
CREATE TABLE operator_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, cluster_id TEXT, at TEXT NOT NULL,
    actor TEXT, reason TEXT);
CREATE TABLE clusters (cluster_id TEXT PRIMARY KEY, name TEXT NOT NULL, named_at TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# What v2 added: the switchover requests `switchover` records beside a running controller.
V2_DDL = """
CREATE TABLE switchover_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, ignore_window INTEGER NOT NULL,
    requested_at TEXT NOT NULL, actor TEXT, state TEXT NOT NULL, handled_at TEXT,
    switchover_id INTEGER, reason TEXT, detail TEXT);
CREATE INDEX switchover_requests_by_state ON switchover_requests (state, id);
"""

#: Schema v3 as released, by hand: what clients felt, from the data-plane probe.
V3_DDL = """
ALTER TABLE switchovers ADD COLUMN client_interruption_seconds REAL;
ALTER TABLE switchovers ADD COLUMN client_failed_seconds REAL;
ALTER TABLE switchovers ADD COLUMN client_first_failure TEXT;
ALTER TABLE switchovers ADD COLUMN client_recovery TEXT;
ALTER TABLE switchovers ADD COLUMN probe_samples INTEGER;
ALTER TABLE switchovers ADD COLUMN load_at_trigger TEXT;
"""

#: Schema v4 as released, by hand: load profiles, notifications delivered, approvals and vetoes.
V4_DDL = """
CREATE TABLE load_profiles (
    cluster_id TEXT PRIMARY KEY, built TEXT NOT NULL, profile TEXT NOT NULL);
CREATE TABLE notifications (
    event_key TEXT NOT NULL, channel_key TEXT NOT NULL, outcome TEXT NOT NULL,
    at TEXT NOT NULL, PRIMARY KEY (event_key, channel_key));
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster_id TEXT NOT NULL, kind TEXT NOT NULL,
    at TEXT NOT NULL, actor TEXT, reason TEXT, until TEXT NOT NULL, slot TEXT,
    switchover_id INTEGER);
CREATE INDEX approvals_by_until ON approvals (until);
"""

#: Schema v5 as released, by hand: the target of each cluster and request, the owned targets.
V5_DDL = """
ALTER TABLE clusters ADD COLUMN target TEXT NOT NULL DEFAULT 'default';
ALTER TABLE switchover_requests ADD COLUMN target TEXT NOT NULL DEFAULT 'default';
CREATE TABLE targets (name TEXT PRIMARY KEY, owned_since TEXT NOT NULL);
"""


def hand_made_v1(path: Path) -> None:
    """A v1 journal written with plain SQL, the way a released controller left it."""
    conn = sqlite3.connect(path)
    conn.executescript(
        V1_DDL
        + f"PRAGMA application_id = {journal_module.APPLICATION_ID}; PRAGMA user_version = 1;"
        """
        INSERT INTO switchovers (cluster_id, cluster_name, trigger, started, confirmed, ended,
                                 outcome, interruption_seconds)
        VALUES ('c1', 'alpha', 'controller', '2024-05-01T12:00:00.000000+00:00', 1,
                '2024-05-01T12:01:00.000000+00:00', 'succeeded', 4.5);
        INSERT INTO operator_events (kind, at, actor, reason)
        VALUES ('pause', '2024-05-01T12:02:00.000000+00:00', 'alice', 'freeze');
        """
    )
    conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        return version
    finally:
        conn.close()
