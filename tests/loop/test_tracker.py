"""The tracker's judgement of one observation, as a table."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.loop.tracker import Finished, Running, assess
from controller.model import Cluster, Outcome, SwitchoverRecord, Trigger

T0 = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
TIMEOUT = dt.timedelta(minutes=30)
GRACE = dt.timedelta(seconds=30)


def cluster(flags: set[str], task: str | None = None) -> Cluster:
    return Cluster(
        id="c1", name="sales", status="AVAILABLE", sub_status=frozenset(flags), task_status=task
    )


def record(confirmed: bool = True) -> SwitchoverRecord:
    return SwitchoverRecord(
        "c1", "sales", Trigger.CONTROLLER, started=T0, id=1, confirmed=confirmed
    )


SWITCHING = cluster({"UNBALANCED"}, "ACTIVE_STANDY_SWITCHOVER")


@pytest.mark.parametrize(
    ("rec", "seen", "after", "expected"),
    [
        pytest.param(record(), SWITCHING, 10, Running(), id="running"),
        pytest.param(
            record(False), SWITCHING, 10, Running(confirm=True), id="first-sight-confirms"
        ),
        pytest.param(
            record(),
            cluster({"NORMAL"}),
            42,
            Finished(Outcome.SUCCEEDED, T0, 42.0),
            id="succeeded-measured",
        ),
        pytest.param(
            record(),
            cluster({"UNBALANCED"}, "ACTIVE_STANDY_SWITCHOVER_FAILURE"),
            50,
            Finished(Outcome.FAILED, T0, 50.0, "DWS reports ACTIVE_STANDY_SWITCHOVER_FAILURE"),
            id="failed-task",
        ),
        pytest.param(
            record(),
            cluster({"UNBALANCED"}),
            60,
            Finished(
                Outcome.FAILED, T0, 60.0, "switchover ended but the cluster is still unbalanced"
            ),
            id="still-unbalanced",
        ),
        pytest.param(record(False), cluster({"UNBALANCED"}), 10, Running(), id="unconfirmed-grace"),
        pytest.param(
            record(False),
            cluster({"UNBALANCED"}),
            31,
            Finished(
                Outcome.FAILED,
                T0,
                None,
                "the switchover POST had an unknown outcome and DWS never showed a switchover",
            ),
            id="unconfirmed-never-seen",
        ),
        pytest.param(
            record(False),
            cluster({"NORMAL"}),
            5,
            Finished(Outcome.SUCCEEDED, T0, 5.0),
            id="unconfirmed-but-balanced",
        ),
        pytest.param(
            record(),
            SWITCHING,
            1801,
            Finished(Outcome.TIMED_OUT, T0, None, "still switching after 0:30:00"),
            id="timed-out",
        ),
        pytest.param(
            record(), cluster({"UNBALANCED"}, "SNAPSHOTTING"), 100, Running(), id="other-task-waits"
        ),
        pytest.param(
            record(),
            None,
            20,
            Finished(Outcome.FAILED, T0, None, "cluster disappeared while switching over"),
            id="cluster-gone",
        ),
    ],
)
def test_assess(rec: SwitchoverRecord, seen: Cluster | None, after: int, expected: object) -> None:
    now = T0 + dt.timedelta(seconds=after)
    if isinstance(expected, Finished):
        expected = Finished(expected.outcome, now, expected.interruption_seconds, expected.error)
    assert assess(rec, seen, now, timeout=TIMEOUT, confirm_grace=GRACE) == expected
