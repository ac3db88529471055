"""`load.schedule: quietest` in the controller's own cycle, against the emulator's DWS and Cloud Eye.

Each unbalanced cluster waits for the quietest hour of its learned hour-of-week profile inside its
windows; that hour is its next_eligible, known in advance. The profile is built from hourly Cloud
Eye history once, journaled (a restart reads it back), rebuilt daily or when its basis changes,
and an unreadable history holds the cluster with `load_unknown` without asking again every cycle.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from loadkit import BATCH, CALM, ETL, at, controller, decisions, world

from controller.clock import ManualClock
from controller.load.profile import Profile
from controller.model import Action, Reason

#: Every day 02:00-06:00 UTC: etl's ETL peak covers 02:00, so its quiet hour is 03:00.
QUIETEST: dict[str, Any] = {
    "windows": [{"start": "02:00", "end": "06:00", "timezone": "UTC"}],
    "load": {"schedule": "quietest"},
}
NOON = at(12)  # Wednesday 2026-03-04


def next_eligible(report: Any) -> dict[str, dt.datetime | None]:
    return {d.cluster_id: d.next_eligible for d in report.decisions}


async def test_each_cluster_waits_for_its_quietest_hour_and_the_load_gate_still_applies(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOON)
    sim = world(clock)
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        report = await parts.reconciler.reconcile_once(clock.now())
        held = decisions(report)
        assert held[ETL][:2] == (Action.BLOCKED, Reason.AWAITING_QUIET_SLOT)
        assert held[ETL][2] == (
            "the quietest allowed hour is Thu 03:00 local, at 2026-03-05 03:00 UTC,"
            " expected load 0.42 of the tightest limit"
        )
        assert next_eligible(report) == {ETL: at(3, day=5), CALM: at(2, day=5)}
        assert sim.counts[BATCH] == 1  # both histories, eight series: one call, no live read

        clock.set(at(2, 5, day=5))
        report = await parts.reconciler.reconcile_once(clock.now())
        assert decisions(report)[CALM][:2] == (Action.SWITCHOVER, Reason.ELIGIBLE)
        assert decisions(report)[ETL][1] is Reason.AWAITING_QUIET_SLOT  # 02:00 is its peak

        clock.set(at(3, 5, day=5))  # the slot, but the lookback still sees the peak's tail
        report = await parts.reconciler.reconcile_once(clock.now())
        assert decisions(report)[ETL][:2] == (Action.BLOCKED, Reason.LOAD_HIGH)

        clock.set(at(3, 20, day=5))
        report = await parts.reconciler.reconcile_once(clock.now())
        assert decisions(report)[ETL][:2] == (Action.SWITCHOVER, Reason.ELIGIBLE)
    assert [p.cluster_id for p in sim.switchovers] == [CALM, ETL]
    assert sim.counts[BATCH] == 4  # no new history: three live load reads inside the slots


async def test_the_profile_is_journaled_and_a_restart_reads_it_back(tmp_path: Path) -> None:
    clock = ManualClock(NOON)
    sim = world(clock)
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        first = next_eligible(await parts.reconciler.reconcile_once(clock.now()))
        kept = parts.journal.profiles()
    assert set(kept) == {ETL, CALM}
    profile = Profile.from_dict(kept[ETL])
    assert profile.expected[(2, 2)] == pytest.approx(100 / 60)  # Wednesday 02:00: the peak
    assert kept[ETL]["basis"] == {
        "limits": {"dws008_active_sql_count": 20.0, "dws010_cpu_usage": 60.0},
        "zone": "UTC",
    }

    clock.set(at(12, 10))
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        again = next_eligible(await parts.reconciler.reconcile_once(clock.now()))
    assert again == first
    assert sim.counts[BATCH] == 1  # the restart asked Cloud Eye nothing

    clock.set(at(12, 10, day=5))  # a day later: rebuilt once
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        await parts.reconciler.reconcile_once(clock.now())
        await parts.reconciler.reconcile_once(clock.now() + dt.timedelta(minutes=1))
    assert sim.counts[BATCH] == 2


async def test_a_changed_basis_rebuilds_the_profile(tmp_path: Path) -> None:
    clock = ManualClock(NOON)
    sim = world(clock)
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        await parts.reconciler.reconcile_once(clock.now())
    shanghai = {
        **QUIETEST,
        "windows": [{"start": "10:00", "end": "14:00", "timezone": "Asia/Shanghai"}],
    }
    async with controller(sim, clock, tmp_path, **shanghai) as parts:
        report = await parts.reconciler.reconcile_once(clock.now())
        rebuilt = Profile.from_dict(parts.journal.profiles()[ETL])
    assert sim.counts[BATCH] == 2
    assert rebuilt.zone.key == "Asia/Shanghai"
    # 10:00-14:00 in Shanghai is 02:00-06:00 UTC: the same quiet hour, read in local time.
    assert next_eligible(report)[ETL] == at(3, day=5)


async def test_an_unreadable_history_holds_with_load_unknown_and_is_asked_again_later(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOON)
    sim = world(clock)
    sim.cloud_eye.inject(kind="status")
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        report = decisions(await parts.reconciler.reconcile_once(clock.now()))
        for cluster in (ETL, CALM):
            action, reason, detail = report[cluster]
            assert (action, reason) == (Action.BLOCKED, Reason.LOAD_UNKNOWN)
            assert detail.startswith("no load profile: cloud_eye: HTTP 503"), detail
        clock.advance(dt.timedelta(minutes=1))
        report = decisions(await parts.reconciler.reconcile_once(clock.now()))
        assert report[ETL][1] is Reason.LOAD_UNKNOWN
        assert sim.counts[BATCH] == 1  # not asked again every cycle

        clock.advance(dt.timedelta(minutes=15))
        report = decisions(await parts.reconciler.reconcile_once(clock.now()))
        assert report[ETL][1] is Reason.AWAITING_QUIET_SLOT
        assert sim.counts[BATCH] == 2
    assert sim.switchovers == []


async def test_empty_history_is_no_profile_and_nothing_runs(tmp_path: Path) -> None:
    clock = ManualClock(at(3, 10, day=5))  # inside the windows: only the profile can hold them
    sim = world(clock)
    sim.cloud_eye.inject(kind="empty")
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        report = decisions(await parts.reconciler.reconcile_once(clock.now()))
    assert report[ETL][:2] == (Action.BLOCKED, Reason.LOAD_UNKNOWN)
    assert report[ETL][2].startswith("no load profile:"), report[ETL][2]
    assert sim.switchovers == []


async def test_a_balanced_fleet_builds_no_profile(tmp_path: Path) -> None:
    clock = ManualClock(NOON)
    sim = world(clock)
    for cluster in (ETL, CALM):
        sim.set(cluster, flags={"NORMAL"})
    async with controller(sim, clock, tmp_path, **QUIETEST) as parts:
        await parts.reconciler.reconcile_once(clock.now())
        assert parts.journal.profiles() == {}
    assert sim.counts[BATCH] == 0
