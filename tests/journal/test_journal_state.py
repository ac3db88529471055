"""Decisions (stored only on change), debounce times, the pause flag, names and merged history."""

from __future__ import annotations

import dataclasses

import pytest
from journalkit import T0, at, decision, finished, record

from controller.journal import EventKind, Journal, OperatorEvent, PauseState
from controller.model import Action, Outcome, Reason, SwitchoverRecord

BLOCKED, NONE, SWITCH = Action.BLOCKED, Action.NONE, Action.SWITCHOVER


@pytest.mark.parametrize(
    ("sequence", "stored"),
    [
        ([(BLOCKED, Reason.COOLDOWN)], [True]),
        ([(BLOCKED, Reason.COOLDOWN), (BLOCKED, Reason.COOLDOWN)], [True, False]),
        ([(BLOCKED, Reason.COOLDOWN), (BLOCKED, Reason.OUTSIDE_WINDOW)], [True, True]),
        ([(BLOCKED, Reason.DRY_RUN), (Action.DRY_RUN, Reason.DRY_RUN)], [True, True]),
        (
            [
                (NONE, Reason.NOT_UNBALANCED),
                (SWITCH, Reason.ELIGIBLE),
                (NONE, Reason.NOT_UNBALANCED),
            ],
            [True, True, True],
        ),
    ],
)
def test_a_decision_is_stored_only_when_action_or_reason_changes(
    journal: Journal, sequence: list[tuple[Action, Reason]], stored: list[bool]
) -> None:
    results = [
        journal.record_decision(decision("c1", action, reason, when=at(n), detail=f"cycle {n}"))
        for n, (action, reason) in enumerate(sequence)
    ]
    assert results == stored
    assert len(journal.decisions()) == sum(stored)


def test_a_changed_detail_alone_is_not_a_change(journal: Journal) -> None:
    first = decision("c1", detail="cooldown: 10 min left", when=at(0))
    assert journal.record_decision(first)
    assert not journal.record_decision(decision("c1", detail="cooldown: 9 min left", when=at(1)))
    assert journal.decisions() == [first]


def test_decisions_are_compared_per_cluster(journal: Journal) -> None:
    assert journal.record_decision(decision("a", when=at(0)))
    assert journal.record_decision(decision("b", when=at(1)))
    assert not journal.record_decision(decision("a", when=at(2)))
    assert journal.last_decisions() == {
        "a": decision("a", when=at(0)),
        "b": decision("b", when=at(1)),
    }


def test_decisions_filter_and_last_decisions_pick_the_newest(journal: Journal) -> None:
    rows = [
        decision("a", reason=Reason.COOLDOWN, when=at(0)),
        decision("b", reason=Reason.COOLDOWN, when=at(1)),
        decision("a", reason=Reason.BLACKOUT, when=at(2)),
    ]
    for row in rows:
        journal.record_decision(row)
    assert journal.decisions(cluster_id="a") == [rows[0], rows[2]]
    assert journal.decisions(since=at(1)) == rows[1:]
    assert journal.decisions(limit=1) == [rows[2]]
    assert journal.last_decisions() == {"a": rows[2], "b": rows[1]}


def test_next_eligible_round_trips(journal: Journal) -> None:
    blocked = dataclasses.replace(decision("c1", when=at(0)), next_eligible=at(45))
    journal.record_decision(blocked)
    assert journal.decisions()[0].next_eligible == at(45)


def test_unbalanced_since_is_set_overwritten_and_cleared(journal: Journal) -> None:
    journal.set_unbalanced_since("a", at(0))
    journal.set_unbalanced_since("b", at(1))
    journal.set_unbalanced_since("a", at(2))
    journal.set_unbalanced_since("b", None)
    journal.set_unbalanced_since("never-seen", None)
    assert journal.unbalanced_since() == {"a": at(2)}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([], PauseState(False, None, None, None)),
        ([(True, "freeze", "alice")], PauseState(True, "freeze", at(0), "alice")),
        ([(True, "freeze", "alice"), (False, None, "bob")], PauseState(False, None, at(1), "bob")),
        (
            [(True, "freeze", "alice"), (False, None, "bob"), (True, None, None)],
            PauseState(True, None, at(2), None),
        ),
    ],
)
def test_pause_state_is_the_latest_pause_or_resume(
    journal: Journal, changes: list[tuple[bool, str | None, str | None]], expected: PauseState
) -> None:
    for n, (paused, reason, by) in enumerate(changes):
        journal.set_paused(paused, at=at(n), reason=reason, by=by)
    journal.reset_breaker("c1", at=at(10), by="carol")  # an operator event, but not a pause
    assert journal.pause_state() == expected


def test_history_merges_everything_by_time_with_the_latest_cluster_name(journal: Journal) -> None:
    journal.record_decision(decision("c1", when=at(0), name="old-name"))
    journal.set_paused(True, at=at(1), reason="freeze", by="alice")
    done = finished(journal, "c1", Outcome.FAILED, at(2))
    journal.reset_breaker("c1", at=at(3), by="bob")
    journal.record_decision(decision("c2", when=at(4), name="other"))
    journal.record_decision(decision("c1", Action.NONE, Reason.PAUSED, when=at(5), name="new-name"))

    items = journal.history()

    assert [type(i).__name__ for i in items] == [
        "Decision",
        "OperatorEvent",
        "SwitchoverRecord",
        "OperatorEvent",
        "Decision",
        "Decision",
    ]
    assert {i.cluster_name for i in items if not isinstance(i, OperatorEvent)} == {
        "new-name",
        "other",
    }
    assert isinstance(items[2], SwitchoverRecord)
    assert items[2].id == done.id
    assert items[3] == OperatorEvent(
        EventKind.BREAKER_RESET, at(3), cluster_id="c1", by="bob", cluster_name="new-name"
    )
    assert journal.switchovers()[0].cluster_name == "name-c1"  # the row keeps the name it had


def test_history_filters_keep_fleet_wide_events_and_limit_keeps_the_newest(
    journal: Journal,
) -> None:
    journal.set_paused(True, at=at(0), by="alice")
    journal.record_decision(decision("c1", when=at(1)))
    journal.record_decision(decision("c2", when=at(2)))
    journal.reset_breaker("c2", at=at(3))
    journal.begin_switchover(record("c1", started=at(4)))

    c1 = journal.history(cluster_id="c1")
    assert [(type(i).__name__, getattr(i, "cluster_id", None)) for i in c1] == [
        ("OperatorEvent", None),
        ("Decision", "c1"),
        ("SwitchoverRecord", "c1"),
    ]
    assert [type(i).__name__ for i in journal.history(limit=2)] == [
        "OperatorEvent",
        "SwitchoverRecord",
    ]
    assert len(journal.history(since=at(2))) == 3
    assert journal.history(limit=0) == []


def test_cluster_names_follow_renames_but_not_backwards_in_time(journal: Journal) -> None:
    journal.record_decision(decision("c1", when=at(5), name="beta"))
    journal.record_decision(decision("c1", Action.NONE, Reason.PAUSED, when=at(1), name="alpha"))
    journal.begin_switchover(record("c2", started=at(0), name="gamma"))
    assert journal.cluster_names() == {"c1": "beta", "c2": "gamma"}
    journal.record_decision(
        decision("c1", when=at(9), name="delta")
    )  # unchanged decision, new name
    assert journal.cluster_names()["c1"] == "delta"


def test_an_empty_journal_answers_every_query_with_nothing(journal: Journal) -> None:
    assert journal.in_flight() == []
    assert journal.decisions() == []
    assert journal.last_decisions() == {}
    assert journal.unbalanced_since() == {}
    assert journal.consecutive_failures("c1") == 0
    assert journal.history() == []
    assert journal.cluster_names() == {}
    assert journal.prune(now=T0, retention=T0 - at(-1)) == 0
