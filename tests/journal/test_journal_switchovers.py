"""Switchover rows: the in-flight lifecycle, queries, the circuit breaker count and pruning."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable

import pytest
from journalkit import T0, at, decision, finished, record

from controller.journal import SWITCHOVER_RETENTION, Journal, JournalError
from controller.model import ClientImpact, Outcome, Reason, Trigger

S, F, T, R = Outcome.SUCCEEDED, Outcome.FAILED, Outcome.TIMED_OUT, Outcome.REJECTED


def test_a_switchover_is_in_flight_from_begin_until_finish(journal: Journal) -> None:
    begun = journal.begin_switchover(record("c1", confirmed=False, trigger=Trigger.MANUAL))
    assert begun.id is not None
    assert journal.in_flight() == [begun]

    journal.confirm_switchover(begun.id, at=at(1))
    assert journal.in_flight()[0].confirmed

    done = journal.finish_switchover(
        begun.id, ended=at(3), outcome=S, interruption_seconds=12.5, error=None
    )
    assert (done.id, done.ended, done.outcome, done.interruption_seconds) == (
        begun.id,
        at(3),
        S,
        12.5,
    )
    assert (done.trigger, done.confirmed) == (Trigger.MANUAL, True)
    assert journal.in_flight() == []
    assert journal.switchovers() == [done]


def test_ids_are_never_reused_after_pruning(journal: Journal) -> None:
    first = finished(journal, "c1", S, T0)
    journal.prune(now=T0 + 2 * SWITCHOVER_RETENTION, retention=dt.timedelta(days=1))
    assert journal.switchovers() == []
    assert journal.begin_switchover(record("c1")).id != first.id


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda j: j.confirm_switchover(42, at=T0), "no switchover with id 42"),
        (
            lambda j: j.finish_switchover(42, ended=T0, outcome=S, interruption_seconds=None),
            "no switchover with id 42",
        ),
    ],
)
def test_unknown_ids_are_errors(
    journal: Journal, call: Callable[[Journal], object], message: str
) -> None:
    with pytest.raises(JournalError, match=message):
        call(journal)


def test_finishing_twice_is_an_error_and_keeps_the_first_outcome(journal: Journal) -> None:
    done = finished(journal, "c1", F, T0)
    assert done.id is not None
    with pytest.raises(JournalError, match=f"switchover {done.id} already finished \\(failed\\)"):
        journal.finish_switchover(done.id, ended=at(9), outcome=S, interruption_seconds=None)
    assert journal.switchovers() == [done]


def test_a_record_that_already_has_an_id_is_refused(journal: Journal) -> None:
    begun = journal.begin_switchover(record())
    with pytest.raises(ValueError, match="already journaled"):
        journal.begin_switchover(begun)
    assert len(journal.switchovers()) == 1


def test_long_error_texts_are_clipped(journal: Journal) -> None:
    begun = journal.begin_switchover(record())
    assert begun.id is not None
    done = journal.finish_switchover(
        begun.id, ended=at(1), outcome=F, interruption_seconds=None, error="<html>" + "x" * 10_000
    )
    assert done.error is not None
    assert done.error.startswith("<html>")
    assert len(done.error) == 2000


def test_switchovers_filter_by_cluster_and_since_and_keep_the_most_recent(journal: Journal) -> None:
    rows = [
        finished(journal, cluster, S, at(m))
        for cluster, m in [("a", 0), ("b", 5), ("a", 10), ("a", 20)]
    ]
    assert journal.switchovers() == rows
    assert journal.switchovers(cluster_id="a") == [rows[0], rows[2], rows[3]]
    assert journal.switchovers(since=at(5)) == rows[1:]
    assert journal.switchovers(limit=2) == rows[2:]
    assert journal.switchovers(cluster_id="a", since=at(5), limit=1) == [rows[3]]
    assert journal.switchovers(limit=0) == []


def test_a_negative_limit_is_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="limit must not be negative"):
        journal.switchovers(limit=-1)


# ---- circuit breaker -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([], 0),
        ([F], 1),
        ([F, T], 2),
        ([F, S], 0),
        ([S, F, F], 2),
        ([F, R, F], 2),
        ([R, R], 0),
        ([F, S, T, R], 1),
        ([T, T, T, S], 0),
    ],
)
def test_consecutive_failures_count_back_to_the_last_success(
    journal: Journal, outcomes: list[Outcome], expected: int
) -> None:
    for n, outcome in enumerate(outcomes):
        finished(journal, "c1", outcome, at(10 * n))
    finished(journal, "other", F, at(500))
    journal.begin_switchover(record("c1", started=at(600)))  # in flight: not a failure yet
    assert journal.consecutive_failures("c1") == expected


def test_a_breaker_reset_forgives_earlier_failures_only(journal: Journal) -> None:
    finished(journal, "c1", F, at(0))
    finished(journal, "c1", T, at(10))
    finished(journal, "c2", F, at(10))
    journal.reset_breaker("c1", at=at(20), by="alice")
    assert journal.consecutive_failures("c1") == 0
    assert journal.consecutive_failures("c2") == 1
    finished(journal, "c1", F, at(30))
    assert journal.consecutive_failures("c1") == 1


# ---- pruning -------------------------------------------------------------------------------


def test_prune_drops_old_decisions_but_keeps_each_clusters_latest(journal: Journal) -> None:
    now = T0 + dt.timedelta(days=40)
    journal.record_decision(decision("a", reason=Reason.COOLDOWN, when=T0))
    journal.record_decision(decision("a", reason=Reason.OUTSIDE_WINDOW, when=at(1)))
    journal.record_decision(decision("b", reason=Reason.COOLDOWN, when=at(2)))
    recent = decision("a", reason=Reason.DAILY_BUDGET, when=now - dt.timedelta(days=1))
    journal.record_decision(recent)

    assert journal.prune(now=now, retention=dt.timedelta(days=30)) == 2
    assert journal.decisions() == [decision("b", reason=Reason.COOLDOWN, when=at(2)), recent]


@pytest.mark.parametrize(
    ("retention", "kept_days"),
    [
        (dt.timedelta(days=1), [34, 30, 10]),  # switchovers stay 35 days whatever the retention
        (dt.timedelta(days=38), [36, 34, 30, 10]),  # or longer, when the retention is longer
    ],
)
def test_prune_keeps_switchovers_for_35_days_and_never_drops_one_in_flight(
    journal: Journal, retention: dt.timedelta, kept_days: list[int]
) -> None:
    now = T0 + dt.timedelta(days=100)
    running = journal.begin_switchover(record("c9", started=now - dt.timedelta(days=50)))
    for days in (40, 36, 10, 30, 34):
        finished(journal, "c1", S, now - dt.timedelta(days=days))

    deleted = journal.prune(now=now, retention=retention)

    kept = [(now - s.started).days for s in journal.switchovers(cluster_id="c1")]
    assert kept == kept_days  # oldest first
    assert deleted == 5 - len(kept_days)
    assert journal.in_flight() == [running]


def test_prune_refuses_a_non_positive_retention(journal: Journal) -> None:
    with pytest.raises(ValueError, match="retention must be positive"):
        journal.prune(now=T0, retention=dt.timedelta(0))


def test_switchover_rows_are_stored_with_synchronous_full(journal: Journal) -> None:
    # The connection runs at NORMAL; durable writes switch to FULL for their commit only.
    statements: list[str] = []
    # A white-box look: the fsync policy is invisible from outside.
    journal._conn.set_trace_callback(statements.append)
    journal.begin_switchover(record())
    full_at = len(statements)
    journal.record_decision(decision())
    journal._conn.set_trace_callback(None)
    assert "PRAGMA synchronous = FULL" in statements[:full_at]
    assert "PRAGMA synchronous = FULL" not in statements[full_at:]
    assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again


def test_the_file_can_be_read_with_plain_sqlite(journal: Journal) -> None:
    finished(journal, "c1", F, T0)
    conn = sqlite3.connect(journal.path)
    row = conn.execute("SELECT cluster_name, outcome, started FROM switchovers").fetchone()
    conn.close()
    assert row == ("name-c1", "failed", "2024-05-01T12:00:00.000000+00:00")


def test_what_clients_felt_is_kept_beside_the_control_plane_figure(journal: Journal) -> None:
    begun = journal.begin_switchover(record("c1", started=at(0)))
    journal.finish_switchover(begun.id, ended=at(3), outcome=S, interruption_seconds=40.0)
    assert begun.id is not None
    impact = ClientImpact(
        interruption_seconds=4.0,
        failed_seconds=5.0,
        first_failure=at(1),
        recovery=at(2),
        samples=60,
    )
    journal.record_client_impact(begun.id, impact)
    (done,) = journal.switchovers()
    assert (done.interruption_seconds, done.client) == (40.0, impact)
