"""The recorder: fan-out in order, a failing sink skipped, a failed durable row stops the POST."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import pytest

from controller.loop.snapshot import ClusterView, Snapshot
from controller.model import Cluster, SwitchoverRecord, Trigger
from controller.record.events import ClusterGone, Event, SwitchoverStarting
from controller.record.recorder import Recorder

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


@dataclass
class Tape:
    name: str
    seen: list[str] = field(default_factory=list)
    durable: bool = False
    fails: bool = False

    def handle(self, event: Event) -> None:
        self.seen.append(f"{self.name}:{type(event).__name__}")
        if self.fails:
            raise RuntimeError(f"{self.name} is down")


def test_every_sink_gets_the_event_in_order() -> None:
    log: list[str] = []
    a, b = Tape("a", log), Tape("b", log)
    Recorder([a, b]).record(ClusterGone("c1", "sales"))
    assert log == ["a:ClusterGone", "b:ClusterGone"]


def test_a_failing_sink_does_not_stop_the_others() -> None:
    log: list[str] = []
    broken, after = Tape("broken", log, fails=True), Tape("after", log)
    Recorder([broken, after]).record(ClusterGone("c1", "sales"))  # not durable: logged, skipped
    assert log == ["broken:ClusterGone", "after:ClusterGone"]


def test_whatever_the_journal_cannot_write_propagates() -> None:
    """As before the pipeline: a journal that fails fails the cycle, never silently."""
    log: list[str] = []
    journal, after = Tape("journal", log, durable=True, fails=True), Tape("after", log)
    with pytest.raises(RuntimeError, match="journal is down"):
        Recorder([journal, after]).record(ClusterGone("c1", "sales"))
    assert log == ["journal:ClusterGone"]


def test_a_durable_row_the_journal_cannot_write_propagates() -> None:
    log: list[str] = []
    journal, after = Tape("journal", log, durable=True, fails=True), Tape("after", log)
    record = SwitchoverRecord("c1", "sales", Trigger.CONTROLLER, started=NOW)
    with pytest.raises(RuntimeError, match="journal is down"):
        Recorder([journal, after]).record(SwitchoverStarting(record))
    assert log == ["journal:SwitchoverStarting"]


def test_a_sink_answer_completes_the_event_for_later_sinks() -> None:
    seen: list[int | None] = []

    class Numbering:
        durable = True

        def handle(self, event: Event) -> Event | None:
            if isinstance(event, SwitchoverStarting):
                return dataclasses.replace(event, record=dataclasses.replace(event.record, id=7))
            return None

    class Reader:
        durable = False

        def handle(self, event: Event) -> None:
            if isinstance(event, SwitchoverStarting):
                seen.append(event.record.id)

    record = SwitchoverRecord("c1", "sales", Trigger.CONTROLLER, started=NOW)
    answered = Recorder([Numbering(), Reader()]).record(SwitchoverStarting(record))
    assert answered.record.id == 7
    assert seen == [7]


def test_the_published_snapshot_is_immutable() -> None:
    cluster = Cluster(id="c1", name="sales", status="AVAILABLE", sub_status=frozenset())
    snapshot = Snapshot(NOW, (ClusterView(cluster),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.clusters[0].window_open = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.at = None  # type: ignore[misc]
    assert isinstance(snapshot.clusters, tuple)
    assert snapshot.view("c1") is snapshot.clusters[0]
