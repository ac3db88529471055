"""Switchover requests: recorded by the CLI, settled exactly once by the running controller."""

from __future__ import annotations

from pathlib import Path

import pytest
from journalkit import T0, at, crash_after, record

from controller.journal import Journal, JournalError, RequestState, SwitchoverRequest


def test_a_request_is_pending_until_settled(journal: Journal) -> None:
    asked = journal.request_switchover("sales", ignore_window=True, at=T0, by="cli")
    assert asked == SwitchoverRequest(
        id=1, cluster="sales", ignore_window=True, requested_at=T0, by="cli"
    )
    assert journal.pending_requests() == [asked]
    assert journal.switchover_request(asked.id) == asked
    assert journal.switchover_request(99) is None


def test_beginning_its_switchover_marks_the_request_done_in_the_same_write(
    journal: Journal,
) -> None:
    asked = journal.request_switchover("sales", ignore_window=False, at=T0)
    begun = journal.begin_switchover(record("c1", started=at(1)), request_id=asked.id)
    done = journal.switchover_request(asked.id)
    assert done is not None
    assert (done.state, done.switchover_id, done.handled_at) == (
        RequestState.DONE,
        begun.id,
        at(1),
    )
    assert journal.pending_requests() == []
    assert journal.switchover(begun.id or 0) == begun


def test_a_request_is_carried_out_at_most_once(journal: Journal) -> None:
    asked = journal.request_switchover("sales", ignore_window=False, at=T0)
    journal.begin_switchover(record("c1", started=at(1)), request_id=asked.id)
    with pytest.raises(JournalError, match="no pending switchover request 1"):
        journal.begin_switchover(record("c1", started=at(2)), request_id=asked.id)
    assert [s.started for s in journal.switchovers()] == [at(1)], "the second row rolled back"
    with pytest.raises(JournalError, match="no pending switchover request 1"):
        journal.refuse_request(asked.id, at=at(3), reason="expired", detail="")


def test_a_refused_request_says_why(journal: Journal) -> None:
    asked = journal.request_switchover("nope", ignore_window=False, at=T0)
    refused = journal.refuse_request(
        asked.id, at=at(1), reason="unknown_cluster", detail="no cluster 'nope' in project p"
    )
    assert (refused.state, refused.reason, refused.detail, refused.handled_at) == (
        RequestState.REFUSED,
        "unknown_cluster",
        "no cluster 'nope' in project p",
        at(1),
    )
    assert refused.switchover_id is None
    assert journal.pending_requests() == []


def test_a_request_from_another_process_is_seen_by_the_controller(journal: Journal) -> None:
    with Journal.open(journal.path, now=at(1)) as cli:
        asked = cli.request_switchover("sales", ignore_window=False, at=at(1), by="cli")
    assert journal.pending_requests() == [asked]


def test_a_done_request_survives_a_crash_right_after_its_switchover_begins(path: Path) -> None:
    crash_after(
        path,
        """
        asked = journal.request_switchover("alpha", ignore_window=False, at=T0)
        journal.begin_switchover(SwitchoverRecord("c1", "alpha", Trigger.MANUAL, started=T0,
                                                  confirmed=False), request_id=asked.id)
        """,
    )
    with Journal.open(path, now=at(5)) as journal:
        assert journal.pending_requests() == [], "never carried out a second time"
        [survivor] = journal.in_flight()
        done = journal.switchover_request(1)
    assert done is not None
    assert (done.state, done.switchover_id) == (RequestState.DONE, survivor.id)
