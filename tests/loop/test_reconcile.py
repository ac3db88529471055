"""Full reconcile cycles against the in-process emulator on a virtual clock."""

from __future__ import annotations

from loopkit import World
from structlog.testing import capture_logs

from controller.model import Action, Outcome, Reason, Trigger

ALWAYS = {"windows": [], "use_maintenance_window": False}


def reasons(report: object) -> dict[str, tuple[Action, Reason]]:
    return {d.cluster_name: (d.action, d.reason) for d in report.decisions}  # type: ignore[attr-defined]


async def test_detect_block_outside_window_then_switch_over_and_track(world: World) -> None:
    world.sim.add_cluster(id="c-sales", name="sales", flags={"UNBALANCED"}, load=0.5)
    async with world.controller() as parts:
        first = await world.cycle(parts)
        assert reasons(first)["sales"] == (Action.BLOCKED, Reason.DEBOUNCING)

        world.advance(minutes=6)  # 00:56 CST: debounced, but the window opens at 01:00
        outside = (await world.cycle(parts)).decisions[0]
        assert (outside.action, outside.reason) == (Action.BLOCKED, Reason.OUTSIDE_WINDOW)
        assert outside.next_eligible is not None
        assert outside.next_eligible.isoformat() == "2026-11-29T17:00:00+00:00"

        world.advance(minutes=5)  # 01:01 CST, inside the window
        report = await world.cycle(parts)
        assert reasons(report)["sales"] == (Action.SWITCHOVER, Reason.ELIGIBLE)
        assert len(world.sim.switchovers) == 1
        assert world.sim.cluster("sales").task_status == "ACTIVE_STANDY_SWITCHOVER"
        assert "c-sales" in parts.reconciler.tracked

        world.advance(seconds=30)
        assert not (await parts.reconciler.track_once(world.clock.now())).finished
        world.advance(seconds=40)  # 20 s × (1 + 4 × 0.5) = 60 s: done by now
        done = (await parts.reconciler.track_once(world.clock.now())).finished
        assert [(r.outcome, r.trigger) for r in done] == [(Outcome.SUCCEEDED, Trigger.CONTROLLER)]
        assert done[0].interruption_seconds == 70.0
        assert not parts.reconciler.tracked

        world.advance(minutes=1)
        assert reasons(await world.cycle(parts))["sales"] == (Action.NONE, Reason.NOT_UNBALANCED)
        assert len(world.sim.switchovers) == 1


async def test_failures_open_the_breaker_after_failure_limit(world: World) -> None:
    world.sim.add_cluster(
        id="c1",
        name="flaky",
        flags={"UNBALANCED"},
        switchover_outcome="stay_unbalanced",
        switchover_base_seconds=10,
    )
    policy = {
        **ALWAYS,
        "cooldown": "0s",
        "max_per_day": 10,
        "failure_limit": 2,
        "min_unbalanced_duration": "0s",
    }
    async with world.controller(policy=policy) as parts:
        for _ in range(2):
            assert reasons(await world.cycle(parts))["flaky"][0] is Action.SWITCHOVER
            world.advance(seconds=15)
            finished = (await parts.reconciler.track_once(world.clock.now())).finished
            assert [r.outcome for r in finished] == [Outcome.FAILED]
            world.advance(seconds=5)
        with capture_logs() as logs:
            blocked = await world.cycle(parts)
            again = await world.cycle(parts)
        assert reasons(blocked)["flaky"] == (Action.BLOCKED, Reason.BREAKER_OPEN)
        assert reasons(again)["flaky"] == (Action.BLOCKED, Reason.BREAKER_OPEN)
        assert len(world.sim.switchovers) == 2
        opened = [e for e in logs if e["event"] == "breaker_opened"]
        assert [(e["cluster"], e["consecutive_failures"]) for e in opened] == [("flaky", 2)]

        parts.journal.reset_breaker("c1", at=world.clock.now(), by="test")
        assert reasons(await world.cycle(parts))["flaky"][0] is Action.SWITCHOVER


async def test_ambiguous_post_is_read_back_and_never_repeated(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.faults.inject("switchover", "lost_response")
    async with world.controller(policy={**ALWAYS, "min_unbalanced_duration": "0s"}) as parts:
        report = await world.cycle(parts)
        assert reasons(report)["sales"][0] is Action.SWITCHOVER
        record = parts.reconciler.tracked["c1"]
        assert record.confirmed, "the read-back saw ACTIVE_STANDY_SWITCHOVER"
        for _ in range(5):
            world.advance(seconds=10)
            await world.cycle(parts)
        assert len(world.sim.switchovers) == 1
        assert world.sim.counts["switchover"] == 1
        outcomes = [r.outcome for r in parts.journal.switchovers(cluster_id="c1")]
        assert outcomes == [Outcome.SUCCEEDED]


async def test_ambiguous_post_never_seen_is_a_failure_not_a_retry(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.faults.inject("switchover", "html_503")  # 5xx: outcome unknown, nothing applied
    async with world.controller(policy={**ALWAYS, "min_unbalanced_duration": "0s"}) as parts:
        await world.cycle(parts)
        assert not parts.reconciler.tracked["c1"].confirmed
        world.advance(seconds=10)
        await world.cycle(parts)
        assert world.sim.counts["switchover"] == 1, "no second POST within the grace period"
        world.advance(seconds=30)
        report = await world.cycle(parts)
        assert [r.outcome for r in report.finished] == [Outcome.FAILED]
        assert reasons(report)["sales"] == (Action.BLOCKED, Reason.COOLDOWN)
        assert world.sim.counts["switchover"] == 1


async def test_restart_mid_switchover_resumes_tracking_without_a_second_post(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=120)
    policy = {**ALWAYS, "min_unbalanced_duration": "0s"}
    async with world.controller(policy=policy) as parts:
        await world.cycle(parts)
        assert len(world.sim.switchovers) == 1
    world.advance(seconds=30)  # the controller is down for a while
    async with world.controller(policy=policy) as parts:
        assert "c1" in parts.reconciler.tracked, "in-flight switchover loaded from the journal"
        report = await world.cycle(parts)
        assert reasons(report)["sales"] == (Action.BLOCKED, Reason.SWITCHOVER_IN_PROGRESS)
        world.advance(seconds=100)
        finished = (await world.cycle(parts)).finished
        assert [r.outcome for r in finished] == [Outcome.SUCCEEDED]
        world.sim.unbalance("sales")  # drifts again right away
        world.advance(minutes=5)
        assert reasons(await world.cycle(parts))["sales"] == (Action.BLOCKED, Reason.COOLDOWN)
    assert len(world.sim.switchovers) == 1


async def test_external_switchover_is_tracked_and_starts_the_cooldown(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy={**ALWAYS, "min_unbalanced_duration": "10m"}) as parts:
        await world.cycle(parts)
        world.sim.start_external_switchover("sales")
        report = await world.cycle(parts)
        assert [(r.trigger, r.outcome) for r in report.started] == [(Trigger.EXTERNAL, None)]
        world.advance(seconds=30)
        finished = (await world.cycle(parts)).finished
        assert [(r.trigger, r.outcome) for r in finished] == [(Trigger.EXTERNAL, Outcome.SUCCEEDED)]
        world.sim.unbalance("sales")
        world.advance(minutes=20)
        await world.cycle(parts)
        world.advance(minutes=20)
        assert reasons(await world.cycle(parts))["sales"] == (Action.BLOCKED, Reason.COOLDOWN)
    assert world.sim.counts["switchover"] == 0


async def test_dry_run_decides_but_never_posts(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(
        dry_run=True, policy={**ALWAYS, "min_unbalanced_duration": "0s"}
    ) as parts:
        for _ in range(3):
            assert reasons(await world.cycle(parts))["sales"] == (Action.DRY_RUN, Reason.DRY_RUN)
            world.advance(minutes=1)
    assert world.sim.counts["switchover"] == 0


async def test_opt_out_tag_is_honoured(world: World) -> None:
    world.sim.add_cluster(
        id="c1",
        name="sales",
        flags={"UNBALANCED"},
        tags={"dws-rebalancer": "disabled", "team": "bi"},
    )
    world.sim.add_cluster(id="c2", name="etl", flags={"UNBALANCED"}, tags=None)
    policy = {**ALWAYS, "min_unbalanced_duration": "0s", "max_concurrent": 2}
    async with world.controller(policy=policy) as parts:
        got = reasons(await world.cycle(parts))
    assert got == {
        "sales": (Action.BLOCKED, Reason.OPTED_OUT),
        "etl": (Action.SWITCHOVER, Reason.ELIGIBLE),
    }
    assert [p.cluster_id for p in world.sim.switchovers] == ["c2"]


async def test_once_twice_in_a_row_switches_over_once(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=60)
    policy = {**ALWAYS, "min_unbalanced_duration": "0s"}
    for _ in range(2):  # two separate `once` processes sharing the journal
        async with world.controller(policy=policy) as parts:
            await world.cycle(parts)
        world.advance(seconds=5)
    assert world.sim.counts["switchover"] == 1


async def test_concurrency_limit_across_the_project(world: World) -> None:
    for name in ("a", "b", "c"):
        world.sim.add_cluster(id=f"id-{name}", name=name, flags={"UNBALANCED"})
    async with world.controller(
        policy={**ALWAYS, "min_unbalanced_duration": "0s", "max_concurrent": 2}
    ) as parts:
        got = reasons(await world.cycle(parts))
    assert sorted(a for a, _ in got.values()) == [
        Action.BLOCKED,
        Action.SWITCHOVER,
        Action.SWITCHOVER,
    ]
    assert got["c"] == (Action.BLOCKED, Reason.CONCURRENCY_LIMIT)
    assert world.sim.counts["switchover"] == 2


async def test_idle_cycle_costs_one_list_request(world: World) -> None:
    for index in range(25):
        world.sim.add_cluster(id=f"id-{index}", name=f"dw-{index}")
    world.sim.add_cluster(id="busy", name="busy", flags={"UNBALANCED"}, task_status="SNAPSHOTTING")
    async with world.controller(policy={"windows": [], "use_maintenance_window": True}) as parts:
        for _ in range(3):
            before = sum(world.sim.counts.values())
            await world.cycle(parts)
            world.advance(minutes=1)
            # The unbalanced cluster needs its maintenance window once (cached for an hour).
            spent = sum(world.sim.counts.values()) - before
            assert world.sim.counts["list_clusters"] >= 1
            assert spent in (1, 2)
        assert world.sim.counts["get_cluster"] == 1
        assert world.sim.counts["list_clusters"] == 3


async def test_refusals_are_recorded_not_retried_blindly(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    policy = {**ALWAYS, "min_unbalanced_duration": "0s"}
    async with world.controller(policy=policy) as parts:
        world.sim.faults.inject("switchover", "throttle")
        report = await world.cycle(parts)
        assert [r.outcome for r in report.finished] == [Outcome.REJECTED]
        assert parts.journal.consecutive_failures("c1") == 0, "429 is not a switchover failure"

        world.sim.faults.inject(
            "switchover",
            "status",
            status=403,
            body={"error_code": "DWS.0015", "error_msg": "no permission"},
        )
        world.advance(minutes=1)
        await world.cycle(parts)
        world.advance(minutes=1)
        forbidden = await world.cycle(parts)
        assert reasons(forbidden)["sales"] == (Action.BLOCKED, Reason.PERMISSION_DENIED)
        assert world.sim.counts["switchover"] == 2, "no attempt after the 403"


async def test_unreadable_journal_is_kept_and_every_cluster_cools_down(world: World) -> None:
    world.journal_path.write_bytes(b"this is not a sqlite database" * 10)
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy={**ALWAYS, "min_unbalanced_duration": "0s"}) as parts:
        assert reasons(await world.cycle(parts))["sales"] == (Action.BLOCKED, Reason.COOLDOWN)
    assert world.journal_path.read_bytes().startswith(b"this is not a sqlite database")
    assert world.sim.counts["switchover"] == 0


async def test_a_tracked_cluster_missing_from_the_list_is_read_back_not_failed(
    world: World,
) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=120)
    async with world.controller(policy={**ALWAYS, "min_unbalanced_duration": "0s"}) as parts:
        await world.cycle(parts)
        assert "c1" in parts.reconciler.tracked
        # One list answer where the tracked cluster's entry is unreadable (no name, no status).
        body = {
            "clusters": [
                {"id": "c1"},
                {
                    "id": "c2",
                    "name": "etl",
                    "status": "AVAILABLE",
                    "sub_status": "NORMAL",
                    "version": "8.2.1.230",
                },
            ],
            "count": 2,
        }
        world.sim.faults.inject("list_clusters", "status", status=200, body=body)
        world.advance(seconds=10)
        report = await world.cycle(parts)
        assert not report.finished, "an unreadable entry is not a vanished cluster"
        assert "c1" in parts.reconciler.tracked
        world.advance(seconds=120)
        finished = (await world.cycle(parts)).finished
        assert [r.outcome for r in finished] == [Outcome.SUCCEEDED]
