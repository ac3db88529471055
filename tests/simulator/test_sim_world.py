"""The emulator's world: switchover timing and outcomes, DWS.0112 refusals, tasks and timed events."""

from __future__ import annotations

import datetime as dt

import pytest
from sim_helpers import START, UUID_A

from controller.clock import ManualClock
from controller.model import SWITCHOVER_FAILED_TASK, SWITCHOVER_TASK
from controller.simulator.world import (
    ClusterNotFound,
    SimCluster,
    Simulator,
    SimulatorError,
    SwitchoverRefused,
    parse_flags,
)


@pytest.mark.parametrize(
    ("base", "load", "expected_seconds"),
    [(20, 0.0, 20), (20, 0.5, 60), (20, 1.0, 100), (5, 0.25, 10)],
)
def test_switchover_duration_is_base_times_one_plus_four_load(
    sim: Simulator, clock: ManualClock, base: float, load: float, expected_seconds: float
) -> None:
    sim.set("alpha", switchover_base_seconds=base, load=load)
    sim.switchover("alpha")
    clock.advance(expected_seconds - 0.001)
    sim.catch_up()
    assert sim.cluster("alpha").task_status == SWITCHOVER_TASK
    clock.advance(0.001)
    sim.catch_up()
    assert sim.cluster("alpha").task_status is None


@pytest.mark.parametrize(
    ("flags", "outcome", "task_after", "flags_after"),
    [
        ({"UNBALANCED"}, "succeed", None, {"NORMAL"}),
        ({"UNBALANCED", "READONLY"}, "succeed", None, {"READONLY"}),
        ({"UNBALANCED"}, "fail_task", SWITCHOVER_FAILED_TASK, {"UNBALANCED"}),
        ({"UNBALANCED"}, "stay_unbalanced", None, {"UNBALANCED"}),
    ],
)
def test_switchover_outcomes(
    sim: Simulator,
    clock: ManualClock,
    flags: set[str],
    outcome: str,
    task_after: str | None,
    flags_after: set[str],
) -> None:
    sim.set("alpha", flags=flags, switchover_outcome=outcome)
    sim.switchover("alpha")
    clock.advance(sim.cluster("alpha").switchover_duration())
    sim.catch_up()
    cluster = sim.cluster("alpha")
    assert (cluster.task_status, cluster.flags) == (task_after, flags_after)
    assert cluster.updated == START + cluster.switchover_duration()


def test_progress_runs_from_zero_and_never_shows_100_while_running(
    sim: Simulator, clock: ManualClock
) -> None:
    sim.switchover("alpha")  # 20 s at load 0
    job = sim.cluster("alpha").job
    assert job is not None
    seen = []
    for _ in range(4):
        seen.append(sim.cluster("alpha").action_progress(clock.now()))
        clock.advance(5)
    assert seen == [{SWITCHOVER_TASK: f"{p}%"} for p in (0, 25, 50, 75)]
    assert job.progress(START + dt.timedelta(seconds=19.99)) == "99%"
    assert sim.cluster("alpha").action_progress(clock.now()) == {}  # ended at 20 s


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"flags": {"NORMAL"}}, "not unbalanced"),
        ({"version": "8.1.1.100"}, "does not support switchback"),
        ({"version": "garbage"}, "does not support switchback"),
        ({"task_status": "SNAPSHOTTING"}, "task SNAPSHOTTING"),
        ({"task_status": SWITCHOVER_FAILED_TASK}, "task ACTIVE_STANDY_SWITCHOVER_FAILURE"),
        ({"status": "FROZEN"}, "status is FROZEN"),
    ],
)
def test_switchover_refused_with_dws_0112(
    sim: Simulator, fields: dict[str, object], why: str
) -> None:
    sim.set("alpha", **fields)
    with pytest.raises(SwitchoverRefused, match=why) as caught:
        sim.switchover("alpha")
    assert caught.value.code == "DWS.0112"
    assert sim.switchovers == []


@pytest.mark.parametrize(
    "fields",
    [
        {"version": "8.1.1.202"},
        {"version": "9.1.0"},
        {"status": "ACTIVE"},
        {"flags": {"DEGRADED", "UNBALANCED"}},  # DWS does not refuse; the controller's guard does
    ],
)
def test_switchover_accepted(sim: Simulator, fields: dict[str, object]) -> None:
    sim.set("alpha", **fields)
    sim.switchover("alpha")
    assert sim.cluster("alpha").task_status == SWITCHOVER_TASK
    assert [p.cluster_id for p in sim.switchovers] == [UUID_A]


def test_second_post_is_refused_while_the_first_runs(sim: Simulator) -> None:
    sim.switchover("alpha")
    with pytest.raises(SwitchoverRefused, match="ACTIVE_STANDY_SWITCHOVER"):
        sim.switchover("alpha")
    assert len(sim.switchovers) == 1


def test_external_switchover_runs_but_is_not_a_post(sim: Simulator, clock: ManualClock) -> None:
    sim.start_external_switchover("alpha")
    assert sim.cluster("alpha").task_status == SWITCHOVER_TASK
    assert sim.switchovers == []
    clock.advance(20)
    sim.catch_up()
    assert sim.cluster("alpha").flags == {"NORMAL"}


def test_timed_task_ends_by_itself_and_untimed_one_needs_clearing(
    sim: Simulator, clock: ManualClock
) -> None:
    sim.start_task("alpha", "SNAPSHOTTING", seconds=30)
    sim.start_task("beta", "REBOOTING")
    clock.advance(15)
    assert sim.cluster("alpha").action_progress(clock.now()) == {"SNAPSHOTTING": "50%"}
    clock.advance(15)
    sim.catch_up()
    assert sim.cluster("alpha").task_status is None
    assert sim.cluster("beta").task_status == "REBOOTING"
    assert sim.cluster("beta").action_progress(clock.now()) == {}
    sim.clear_task("beta")
    assert sim.cluster("beta").task_status is None


def test_a_superseded_task_end_does_not_clear_the_newer_task(
    sim: Simulator, clock: ManualClock
) -> None:
    sim.start_task("alpha", "SNAPSHOTTING", seconds=10)
    clock.advance(5)
    sim.start_task("alpha", "REBOOTING", seconds=60)
    clock.advance(10)
    sim.catch_up()
    assert sim.cluster("alpha").task_status == "REBOOTING"


def test_failed_switchover_stays_until_cleared(sim: Simulator, clock: ManualClock) -> None:
    sim.set("alpha", switchover_outcome="fail_task")
    sim.switchover("alpha")
    clock.advance(3600)
    sim.catch_up()
    assert sim.cluster("alpha").task_status == SWITCHOVER_FAILED_TASK
    sim.clear_task("alpha")
    sim.set("alpha", switchover_outcome="succeed")
    sim.switchover("alpha")
    assert len(sim.switchovers) == 2


def test_events_fire_in_time_order_stamped_with_their_own_time(
    sim: Simulator, clock: ManualClock
) -> None:
    fired: list[tuple[str, dt.datetime]] = []
    sim.at(30, lambda: fired.append(("b", sim.now)))
    sim.at(dt.timedelta(seconds=10), lambda: fired.append(("a", sim.now)))
    sim.at(START + dt.timedelta(seconds=30), lambda: fired.append(("c", sim.now)))
    sim.at(90, lambda: fired.append(("late", sim.now)))
    clock.advance(60)
    sim.catch_up()
    assert fired == [
        ("a", START + dt.timedelta(seconds=10)),
        ("b", START + dt.timedelta(seconds=30)),
        ("c", START + dt.timedelta(seconds=30)),
    ]


def test_event_switchover_ends_relative_to_the_event_not_the_request(
    sim: Simulator, clock: ManualClock
) -> None:
    sim.at(10, ("start_external_switchover", "alpha"))
    clock.advance(29)  # event at 10 s, switchover lasts 20 s: still running at 29 s
    sim.catch_up()
    assert sim.cluster("alpha").task_status == SWITCHOVER_TASK
    clock.advance(1)
    sim.catch_up()
    assert sim.cluster("alpha").task_status is None


def test_descriptor_events(sim: Simulator, clock: ManualClock) -> None:
    sim.at(1, ("unbalance", "beta", "READONLY"))
    sim.at(2, ("set", "beta", {"load": 0.5}))
    sim.at(3, ("start_task", "alpha", "SNAPSHOTTING", 5))
    clock.advance(3)
    sim.catch_up()
    beta = sim.cluster("beta")
    assert (beta.sub_status, beta.load) == ("UNBALANCED | READONLY", 0.5)
    assert sim.cluster("alpha").task_status == "SNAPSHOTTING"


def test_event_that_no_longer_applies_is_skipped(
    sim: Simulator, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    sim.at(1, ("start_external_switchover", "beta"))  # beta is NORMAL: the console refuses
    sim.at(2, ("unbalance", "beta"))
    clock.advance(5)
    sim.catch_up()
    assert sim.cluster("beta").task_status is None
    assert sim.cluster("beta").flags == {"UNBALANCED"}
    assert "skipped" in caplog.text


def test_unknown_descriptor_op_is_rejected_up_front(sim: Simulator) -> None:
    with pytest.raises(SimulatorError, match="unknown event op 'explode'"):
        sim.at(1, ("explode", "alpha"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"load": 1.5}, "load must be within 0..1"),
        ({"switchover_outcome": "maybe"}, "switchover_outcome must be one of"),
        ({"switchover_base_seconds": 0}, "switchover_base_seconds must be > 0"),
        ({"colour": "red"}, "unknown cluster field"),
        ({"id": "other"}, "unknown cluster field"),
    ],
)
def test_set_rejects_bad_fields_and_keeps_the_old_values(
    sim: Simulator, fields: dict[str, object], message: str
) -> None:
    before = sim.cluster("alpha").load
    with pytest.raises(SimulatorError, match=message):
        sim.set("alpha", **fields)
    assert sim.cluster("alpha").load == before
    assert sim.cluster("alpha").switchover_outcome == "succeed"


def test_unbalance_and_balance(sim: Simulator) -> None:
    sim.unbalance("beta", "DEGRADED")
    assert sim.cluster("beta").sub_status == "DEGRADED | UNBALANCED"
    sim.balance("beta")
    assert sim.cluster("beta").flags == {"DEGRADED"}
    sim.balance("alpha")
    assert sim.cluster("alpha").flags == {"NORMAL"}


def test_cluster_lookup_by_id_or_name(sim: Simulator) -> None:
    assert sim.cluster(UUID_A) is sim.cluster("alpha")
    with pytest.raises(ClusterNotFound):
        sim.cluster("nope")


def test_add_cluster_rejects_duplicates_and_unknown_fields(sim: Simulator) -> None:
    with pytest.raises(SimulatorError, match="duplicate"):
        sim.add_cluster(id="x", name="alpha")
    with pytest.raises(SimulatorError, match="bad cluster fields"):
        sim.add_cluster(id="x", name="x", colour="red")


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("UNBALANCED | READONLY", {"UNBALANCED", "READONLY"}),
        (" unbalanced|degraded ", {"UNBALANCED", "DEGRADED"}),
        ("", {"NORMAL"}),
        (["READONLY"], {"READONLY"}),
    ],
)
def test_parse_flags(text: str | list[str], flags: set[str]) -> None:
    assert parse_flags(text) == flags


def test_sub_status_uses_dws_flag_order() -> None:
    cluster = SimCluster(id="x", name="x", flags={"READONLY", "ZZZ", "UNBALANCED", "DEGRADED"})
    assert cluster.sub_status == "DEGRADED | UNBALANCED | READONLY | ZZZ"


def test_new_cluster_is_stamped_with_world_time(clock: ManualClock) -> None:
    sim = Simulator(clock, project_id="p", ak="a", sk="s")
    clock.advance(42)
    cluster = sim.add_cluster(id="x", name="x")
    assert cluster.created == cluster.updated == START + dt.timedelta(seconds=42)
