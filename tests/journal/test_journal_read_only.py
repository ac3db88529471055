"""Opening a journal read-only (`status`, `history`, `check-config`, `switchover --wait`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from journalkit import T0, at, decision, hand_made_v1, snapshot, user_version

from controller.journal import Journal, JournalError, JournalUnreadable


def test_a_missing_journal_is_not_created(path: Path) -> None:
    with pytest.raises(JournalError, match="does not exist"):
        Journal.open_read_only(path)
    assert list(path.parent.iterdir()) == []


def test_a_closed_journal_is_read_without_touching_any_file(path: Path) -> None:
    with Journal.open(path, now=T0) as writer:
        writer.record_decision(decision("c1", when=at(1)))
    before = snapshot(path.parent)
    with Journal.open_read_only(path) as reader:
        assert reader.decisions() == [decision("c1", when=at(1))]
        assert not reader.created
    assert snapshot(path.parent) == before, "no -wal/-shm, no byte changed"


def test_a_read_only_journal_refuses_writes(path: Path) -> None:
    Journal.open(path, now=T0).close()
    before = snapshot(path.parent)
    with (
        Journal.open_read_only(path) as reader,
        pytest.raises(JournalError, match=f"journal {path}: attempt to write a readonly"),
    ):
        reader.set_paused(True, at=T0)
    assert snapshot(path.parent) == before


def test_an_older_schema_is_read_as_it_is_not_migrated(path: Path) -> None:
    hand_made_v1(path)
    with Journal.open_read_only(path) as reader:
        assert reader.schema_version == 1
        assert [s.cluster_name for s in reader.switchovers()] == ["alpha"]
    assert user_version(path) == 1


def test_an_unusable_file_is_refused(path: Path) -> None:
    path.write_text("not a journal\n" * 100)
    with pytest.raises(JournalUnreadable, match="not a database"):
        Journal.open_read_only(path)


def test_a_follower_sees_what_the_writer_commits_later(path: Path) -> None:
    with Journal.open(path, now=T0) as writer, Journal.open_read_only(path, follow=True) as reader:
        assert reader.pending_requests() == []
        asked = writer.request_switchover("sales", ignore_window=False, at=at(1))
        assert reader.pending_requests() == [asked]
