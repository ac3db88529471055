"""The load gate in the controller's own cycle, against the emulator's DWS and Cloud Eye.

Only the clusters every other guard allows are asked about, in shared calls; a cluster held by
`load_high` during its ETL peak is switched over once the load drops; an unreadable Cloud Eye
holds it with `load_unknown`, naming the source; no reading is ever a pass.
"""

from __future__ import annotations

from pathlib import Path

from loadkit import BATCH, CALM, ETL, at, controller, decisions, world

from controller.clock import ManualClock
from controller.model import Action, Reason


async def test_held_by_load_during_the_peak_then_switched_over_once_it_drops(
    tmp_path: Path,
) -> None:
    clock = ManualClock(at(1, 20))  # inside etl's nightly ETL peak
    sim = world(clock)
    async with controller(sim, clock, tmp_path) as parts:
        during = decisions(await parts.reconciler.reconcile_once(clock.now()))
        action, reason, detail = during[ETL]
        assert (action, reason) == (Action.BLOCKED, Reason.LOAD_HIGH)
        assert detail.startswith("dws008_active_sql_count 30 > limit 20")
        assert during[CALM][:2] == (Action.SWITCHOVER, Reason.ELIGIBLE)
        assert [p.cluster_id for p in sim.switchovers] == [CALM]
        assert sim.counts[BATCH] == 1  # both candidates, every series, one call
        value = parts.metrics.registry.get_sample_value(
            "dws_rebalancer_load_value", {"dws_cluster": "etl", "metric": "dws008_active_sql_count"}
        )
        assert value == 30

        clock.set(at(3, 20))  # the peak is over
        after = decisions(await parts.reconciler.reconcile_once(clock.now()))
        assert after[ETL][:2] == (Action.SWITCHOVER, Reason.ELIGIBLE)
        assert ETL in [p.cluster_id for p in sim.switchovers]
        # Each switchover keeps the load it was triggered under, to set against its interruption.
        loads = {r.cluster_id: r.load_at_trigger for r in parts.journal.switchovers()}
    assert loads[ETL] == {"dws008_active_sql_count": 5.0, "dws010_cpu_usage": 25.0}
    assert loads[CALM] is not None
    assert loads[CALM]["dws008_active_sql_count"] == 2.0


async def test_a_fleet_with_nothing_to_switch_over_costs_no_load_call(tmp_path: Path) -> None:
    clock = ManualClock(at(1, 20))
    sim = world(clock)
    for cluster in (ETL, CALM):
        sim.set(cluster, flags={"NORMAL"})
    async with controller(sim, clock, tmp_path) as parts:
        await parts.reconciler.reconcile_once(clock.now())
    assert sim.counts[BATCH] == 0


async def test_clusters_held_by_the_clock_are_not_asked_about(tmp_path: Path) -> None:
    clock = ManualClock(at(1, 20))
    sim = world(clock)
    async with controller(sim, clock, tmp_path, min_unbalanced_duration="1h") as parts:
        report = await parts.reconciler.reconcile_once(clock.now())
    assert {d.reason for d in report.decisions} == {Reason.DEBOUNCING}
    assert sim.counts[BATCH] == 0


async def test_an_unreadable_cloud_eye_holds_every_candidate_with_load_unknown(
    tmp_path: Path,
) -> None:
    clock = ManualClock(at(3, 20))  # quiet: only the failure can hold them
    sim = world(clock)
    sim.cloud_eye.inject(kind="status")
    async with controller(sim, clock, tmp_path) as parts:
        report = decisions(await parts.reconciler.reconcile_once(clock.now()))
        errors = parts.metrics.registry.get_sample_value(
            "dws_rebalancer_load_source_errors_total", {"source": "cloud_eye"}
        )
    for cluster in (ETL, CALM):
        action, reason, detail = report[cluster]
        assert (action, reason) == (Action.BLOCKED, Reason.LOAD_UNKNOWN)
        assert detail.startswith("cloud_eye:"), detail
    assert sim.switchovers == []
    assert errors == 1


async def test_a_manual_switchover_beside_the_controller_is_held_by_load_too(
    tmp_path: Path,
) -> None:
    clock = ManualClock(at(1, 20))
    sim = world(clock)
    async with controller(sim, clock, tmp_path) as parts:
        asked = parts.journal.request_switchover("etl", ignore_window=True, at=clock.now())
        await parts.reconciler.answer_request(asked.id, clock.now())
        request = parts.journal.switchover_request(asked.id)
    assert request is not None
    assert request.reason == Reason.LOAD_HIGH.value
    assert ETL not in [p.cluster_id for p in sim.switchovers]
