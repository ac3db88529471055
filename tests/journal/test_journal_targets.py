"""One journal for every target of a controller: each cluster belongs to a target, each target
adopts only its own in-flight switchovers and answers only its own requests, `history` filters by
target, and a journal from before targets belongs to the implicit target `default`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from journalkit import (
    T0,
    V2_DDL,
    V3_DDL,
    V4_DDL,
    at,
    decision,
    hand_made_v1,
    record,
    user_version,
)

from controller.journal import Journal
from controller.journal.store import DEFAULT_TARGET
from controller.settings import IMPLICIT_TARGET


def test_each_target_sees_only_its_own_in_flight_switchovers(journal: Journal) -> None:
    bj, sh = journal.scoped("bj"), journal.scoped("sh")
    bj.begin_switchover(record("c-bj"))
    sh.begin_switchover(record("c-sh", started=at(1)))
    assert [r.cluster_id for r in bj.in_flight()] == ["c-bj"]
    assert [r.cluster_id for r in sh.in_flight()] == ["c-sh"]
    assert journal.in_flight() == []  # the unscoped handle is the implicit target's
    assert journal.cluster_targets() == {"c-bj": "bj", "c-sh": "sh"}
    # One file, one connection: what one view writes, every view reads at once.
    assert {r.cluster_id for r in journal.switchovers()} == {"c-bj", "c-sh"}


def test_each_target_answers_only_its_own_requests(journal: Journal) -> None:
    journal.scoped("bj").request_switchover("sales", ignore_window=False, at=T0)
    journal.scoped("sh").request_switchover("sales", ignore_window=True, at=at(1))
    bj = journal.scoped("bj").pending_requests()
    sh = journal.scoped("sh").pending_requests()
    assert [(r.cluster, r.ignore_window) for r in bj] == [("sales", False)]
    assert [(r.cluster, r.ignore_window) for r in sh] == [("sales", True)]


def test_history_filters_by_target_and_keeps_fleet_wide_events(journal: Journal) -> None:
    journal.scoped("bj").record_decision(decision("c-bj", when=at(1)))
    journal.scoped("sh").record_decision(decision("c-sh", when=at(2)))
    journal.set_paused(True, at=at(3), reason="freeze", by="alice")
    bj = journal.history(target="bj")
    assert [getattr(i, "cluster_id", None) for i in bj] == ["c-bj", None]
    assert len(journal.history()) == 3
    assert len(journal.history(target="bj", limit=1)) == 1


def test_a_journal_from_before_targets_belongs_to_default(path: Path) -> None:
    hand_made_v1(path)  # a switchover of c1, from a release that knew one project
    with Journal.open(path, now=at(30)) as journal:
        assert [r.cluster_id for r in journal.in_flight()] == []  # it had ended
        switched = [i for i in journal.history(target="default") if hasattr(i, "trigger")]
        assert [s.cluster_id for s in switched] == ["c1"]
        # Another target's history holds only the fleet-wide rows: v1's pause.
        assert [i.cluster_id for i in journal.history(target="bj")] == [None]
        assert list(journal.owned_targets()) == ["default"]
    assert DEFAULT_TARGET == IMPLICIT_TARGET


def test_a_cluster_first_seen_by_default_moves_to_the_target_that_sees_it(journal: Journal) -> None:
    """A single-project journal taken over by a named target: the history follows the cluster."""
    journal.begin_switchover(record("c1"))
    assert journal.scoped("bj").in_flight() == []
    journal.scoped("bj").record_decision(decision("c1", when=at(1)))
    assert journal.cluster_targets() == {"c1": "bj"}
    assert [r.cluster_id for r in journal.scoped("bj").in_flight()] == ["c1"]


def test_owned_targets_remember_since_when_and_forget_the_ones_gone(journal: Journal) -> None:
    journal.set_owned_targets(["bj", "sh"], at=T0)
    journal.set_owned_targets(["sh", "gz"], at=at(5))
    assert journal.owned_targets() == {"sh": T0, "gz": at(5)}


def test_a_journal_from_before_targets_read_as_it_is_is_the_default_target_s(
    path: Path,
) -> None:
    """`status` beside an older controller reads its v4 journal without migrating it."""
    hand_made_v1(path)
    older = sqlite3.connect(path)
    older.executescript(
        V2_DDL
        + V3_DDL
        + V4_DDL
        + """
        INSERT INTO switchovers (cluster_id, cluster_name, trigger, started, confirmed)
        VALUES ('c2', 'beta', 'controller', '2024-05-01T13:00:00.000000+00:00', 1);
        INSERT INTO clusters VALUES ('c2', 'beta', '2024-05-01T13:00:00.000000+00:00');
        INSERT INTO switchover_requests (cluster, ignore_window, requested_at, state)
        VALUES ('beta', 0, '2024-05-01T13:01:00.000000+00:00', 'pending');
        PRAGMA user_version = 4;
        """
    )
    older.close()
    with Journal.open_read_only(path) as journal:
        assert not journal.knows_targets
        assert [r.cluster_id for r in journal.in_flight()] == ["c2"]
        assert journal.scoped("bj").in_flight() == []
        assert [r.cluster for r in journal.pending_requests()] == ["beta"]
        assert journal.scoped("bj").pending_requests() == []
        assert journal.clusters_matching("default/beta") == [("c2", "beta", "default")]
        assert journal.cluster_targets() == {"c2": "default"}
        assert list(journal.owned_targets()) == ["default"]
    assert user_version(path) == 4  # read as it is: never migrated by a reader
