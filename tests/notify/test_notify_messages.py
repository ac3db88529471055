"""Which events become which notices, under which keys, and how they read in English and Chinese."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from controller.model import (
    Action,
    ClientImpact,
    Decision,
    Outcome,
    Reason,
    SwitchoverRecord,
    Trigger,
    Verdict,
)
from controller.notify.compose import MAX_SUBJECT_BYTES, Target, compose
from controller.notify.notices import UNHEALTHY_AFTER, Notice, notice_for
from controller.notify.sink import PROBE_WAIT, NotifySink
from controller.record.events import (
    BreakerOpened,
    ClusterStuck,
    CycleFailed,
    CycleFinished,
    DecisionMade,
    Event,
    Origin,
    ProbeFinished,
    Refusal,
    SwitchoverFinished,
    SwitchoverPlanned,
    SwitchoverStarted,
)
from controller.settings import Settings

T0 = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)
CID = "4ca46bf1-5c61-48ff-b4f3-0ad4e5e3ba90"
TARGET = Target("proj-1", "cn-north-4", "https://grafana.example.com/d/dws", "en")


def record(**changes: Any) -> SwitchoverRecord:
    fields: dict[str, Any] = {
        "cluster_id": CID,
        "cluster_name": "sales-dw",
        "trigger": Trigger.CONTROLLER,
        "started": T0,
        "id": 7,
    }
    return SwitchoverRecord(**{**fields, **changes})


def ended(outcome: Outcome, **changes: Any) -> SwitchoverRecord:
    return record(ended=T0 + dt.timedelta(minutes=2), outcome=outcome, **changes)


def denied(changed: bool) -> DecisionMade:
    decision = Decision(
        CID, "sales-dw", Action.BLOCKED, Reason.PERMISSION_DENIED, "403 DWS.0015", T0
    )
    return DecisionMade(Verdict(decision), changed)


def failed_cycle(consecutive: int) -> CycleFailed:
    return CycleFailed(T0, 0.1, "dws_api", RuntimeError("HTTP 503"), consecutive, "2m", False)


CASES: list[tuple[str, Event, str | None, str | None]] = [
    ("started", SwitchoverStarted(record(), Origin.POSTED), "started", f"started:{CID}:2026-03-03T01:00:00+00:00"),
    ("succeeded", SwitchoverFinished(ended(Outcome.SUCCEEDED, interruption_seconds=4.5)), "succeeded", f"succeeded:{CID}:2026-03-03T01:00:00+00:00"),
    ("failed", SwitchoverFinished(ended(Outcome.FAILED, error="task failed")), "failed", None),
    ("timed_out", SwitchoverFinished(ended(Outcome.TIMED_OUT)), "timed_out", None),
    ("rejected is failed", SwitchoverFinished(ended(Outcome.REJECTED), Refusal("switchover_rejected", "DWS.0112: busy", "DwsApiError")), "failed", None),
    ("breaker", BreakerOpened(CID, "sales-dw", 3), "breaker_opened", f"breaker_opened:{CID}:unknown"),
    ("permission denied, changed", denied(True), "permission_denied", None),
    ("permission denied, kept", denied(False), None, None),
    ("unhealthy at the third failure", failed_cycle(UNHEALTHY_AFTER), "unhealthy", "unhealthy:2026-03-03T01:00:00+00:00"),
    ("not at the second", failed_cycle(UNHEALTHY_AFTER - 1), None, None),
    ("nor at the fourth", failed_cycle(UNHEALTHY_AFTER + 1), None, None),
    ("planned", SwitchoverPlanned(CID, "sales-dw", T0, "quietest hour"), "planned", f"planned:{CID}:2026-03-03T01:00:00+00:00"),
    ("stuck", ClusterStuck(CID, "sales-dw", T0, "outside_window", "never opens"), "stuck", f"stuck:{CID}:2026-03-03T01:00:00+00:00"),
    ("a finished cycle says nothing", CycleFinished(T0, 0.1), None, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "event", "kind", "key"), CASES, ids=[c[0] for c in CASES])
def test_events_map_to_notices(name: str, event: Event, kind: str | None, key: str | None) -> None:
    notice = notice_for(event, {})
    assert (notice.event if notice else None) == kind
    if key is not None:
        assert notice is not None
        assert notice.key == key


def test_a_rejection_says_why_dws_refused() -> None:
    refusal = Refusal("switchover_rejected", "DWS.0112: cluster busy", "DwsApiError")
    notice = notice_for(SwitchoverFinished(ended(Outcome.REJECTED), refusal), {})
    assert notice is not None
    assert "DWS.0112: cluster busy" in compose(notice, TARGET).body


def test_the_breaker_key_names_the_failure_that_opened_it() -> None:
    notice = notice_for(BreakerOpened(CID, "sales-dw", 3), {CID: T0.isoformat()})
    assert notice is not None
    assert notice.key == f"breaker_opened:{CID}:{T0.isoformat()}"


def test_an_english_message_says_what_where_why_and_when() -> None:
    notice = Notice(
        "succeeded", "k", CID, "sales-dw", seconds=4.5,
        client=ClientImpact(3.0, 3.0, T0, T0, 40), probed=True,
        next_eligible=T0 + dt.timedelta(hours=6),
    )  # fmt: skip
    message = compose(notice, TARGET)
    assert message.subject == "[dws-rebalancer] Switchover succeeded on sales-dw"
    assert message.body.splitlines() == [
        "The switchover of sales-dw succeeded: the cluster is balanced.",
        f"Cluster: sales-dw ({CID})",
        "Project: proj-1, region cn-north-4",
        "Interruption: 4.5 s (control plane)",
        "Clients felt: 3.0 s without a working connection (40 probes)",
        "Next eligible: 2026-03-03 07:00 UTC",
        "Dashboard: https://grafana.example.com/d/dws",
    ]


def test_a_chinese_message_reads_in_chinese() -> None:
    notice = notice_for(SwitchoverFinished(ended(Outcome.FAILED, error="任务失败")), {})
    assert notice is not None
    message = compose(notice, Target("proj-1", "cn-north-4", None, "zh"))
    assert message.subject == "[dws-rebalancer] sales-dw 主备切换失败"
    assert "集群 sales-dw 的主备切换失败：任务失败" in message.body
    assert "项目：proj-1，区域 cn-north-4" in message.body
    assert "监控面板" not in message.body  # no dashboard_url, no line


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_event_has_a_message_in_every_language(language: str) -> None:
    from controller.settings import NOTIFY_EVENTS

    for event in NOTIFY_EVENTS:
        notice = Notice(event, "k", CID, "x" * 300, detail="why\nwhy", at=T0, consecutive=3)
        message = compose(notice, Target("p", "r", None, language))
        assert "\n" not in message.subject
        assert len(message.subject.encode()) <= MAX_SUBJECT_BYTES
        assert message.body


class Collected:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def offer(self, notice: Notice, target: object = None) -> None:
        self.notices.append(notice)


def probing_settings() -> Settings:
    probe = {"enabled": True, "user": "dbadmin", "password": "pw-0123456789", "tail": "30s"}
    return Settings(endpoint="https://dws.example.com", project_id="p", policy={"probe": probe})


def test_a_probed_switchover_end_waits_for_what_clients_felt() -> None:
    sink, got = NotifySink(collected := Collected(), probing_settings()), None
    finished = ended(Outcome.SUCCEEDED, interruption_seconds=4.0)
    sink.handle(SwitchoverFinished(finished))
    assert collected.notices == []  # held for the probe
    impact = ClientImpact(2.0, 2.0, T0, T0, 30)
    sink.handle(ProbeFinished(finished, impact))
    [got] = collected.notices
    assert got.client == impact
    assert got.next_eligible == finished.ended + dt.timedelta(hours=6)  # type: ignore[operator]


def test_a_probe_that_never_reports_does_not_swallow_the_message() -> None:
    sink = NotifySink(collected := Collected(), probing_settings())
    finished = ended(Outcome.SUCCEEDED)
    sink.handle(SwitchoverFinished(finished))
    assert finished.ended is not None
    deadline = finished.ended + dt.timedelta(seconds=30) + PROBE_WAIT
    sink.handle(CycleFinished(deadline - dt.timedelta(seconds=1), 0.1))
    assert collected.notices == []
    sink.handle(CycleFinished(deadline, 0.1))
    [got] = collected.notices
    assert got.probed
    assert "Clients felt: not measured" in compose(got, TARGET).body


def test_held_messages_go_out_when_the_controller_stops() -> None:
    sink = NotifySink(collected := Collected(), probing_settings())
    sink.handle(SwitchoverFinished(ended(Outcome.FAILED)))
    sink.flush()
    assert [n.event for n in collected.notices] == ["failed"]
