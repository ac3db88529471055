"""Switchover requests recorded beside a running controller, answered by its next cycle."""

from __future__ import annotations

import datetime as dt

import pytest
from loopkit import World

from controller.journal import Journal, RequestState, SwitchoverRequest
from controller.loop.requests import REQUEST_TTL_FLOOR, no_action_sentence, request_ttl, resolve
from controller.model import Action, Cluster, Decision, Outcome, Reason, Trigger

# The default policy's window (Mon-Fri 01:00-05:00 Shanghai) is closed at the world's start,
# so the controller leaves clusters alone and only requests with --ignore-window may act.
NO_DEBOUNCE = {"min_unbalanced_duration": "0s"}


def ask(world: World, cluster: str, *, ignore_window: bool = True) -> SwitchoverRequest:
    """What `switchover CLUSTER` does beside a running controller: one row, another connection."""
    with Journal.open(world.journal_path, now=world.clock.now()) as cli:
        return cli.request_switchover(
            cluster, ignore_window=ignore_window, at=world.clock.now(), by="cli"
        )


def answer(world: World, request: SwitchoverRequest) -> SwitchoverRequest:
    with Journal.open(world.journal_path, now=world.clock.now()) as cli:
        found = cli.switchover_request(request.id)
    assert found is not None
    return found


async def test_a_request_with_ignore_window_is_carried_out_once(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy=NO_DEBOUNCE) as parts:
        request = ask(world, "sales")
        report = await world.cycle(parts)
        assert [d.reason for d in report.decisions] == [Reason.OUTSIDE_WINDOW]
        [started] = report.started
        assert (started.trigger, started.cluster_id) == (Trigger.MANUAL, "c1")
        done = answer(world, request)
        assert (done.state, done.switchover_id) == (RequestState.DONE, started.id)
        world.advance(minutes=1)
        await world.cycle(parts)
        assert parts.journal.pending_requests() == []
    assert world.sim.counts["switchover"] == 1


async def test_a_request_goes_through_the_same_guards(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy=NO_DEBOUNCE) as parts:
        request = ask(world, "c1", ignore_window=False)
        await world.cycle(parts)
    refused = answer(world, request)
    assert (refused.state, refused.reason) == (RequestState.REFUSED, "outside_window")
    assert refused.detail is not None
    assert refused.detail.endswith("(no switchover sent)")
    assert world.sim.counts["switchover"] == 0


async def test_ignore_window_never_bypasses_pause(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy=NO_DEBOUNCE) as parts:
        parts.journal.set_paused(True, at=world.clock.now(), reason="freeze")
        request = ask(world, "sales")
        await world.cycle(parts)
    assert answer(world, request).reason == "paused"
    assert world.sim.counts["switchover"] == 0


async def test_a_balanced_or_unknown_cluster_is_refused_saying_why(world: World) -> None:
    world.sim.add_cluster(id="c1", name="etl", flags={"NORMAL"})
    async with world.controller(policy=NO_DEBOUNCE) as parts:
        balanced, unknown = ask(world, "etl"), ask(world, "nope")
        await world.cycle(parts)
    assert (answer(world, balanced).reason, answer(world, balanced).detail) == (
        "not_unbalanced",
        "etl is balanced: nothing to do (no switchover sent)",
    )
    assert answer(world, unknown).reason == "unknown_cluster"
    assert answer(world, unknown).detail == f"no cluster 'nope' in project {world.sim.project_id}"


async def test_a_request_nobody_answered_in_time_expires_unacted(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    request = ask(world, "sales")  # no controller running
    world.advance(minutes=11)  # the window is open now: only the budget holds the controller
    async with world.controller(policy={**NO_DEBOUNCE, "max_per_day": 0}) as parts:
        await world.cycle(parts)
    assert answer(world, request).reason == "expired"
    assert world.sim.counts["switchover"] == 0


async def test_a_cluster_switched_over_this_cycle_is_not_posted_again(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=600)
    policy = {**NO_DEBOUNCE, "windows": [], "use_maintenance_window": False}
    async with world.controller(policy=policy) as parts:
        first, second = ask(world, "sales"), ask(world, "sales")
        report = await world.cycle(parts)  # the controller's own POST, from this cycle's listing
        assert [r.trigger for r in report.started] == [Trigger.CONTROLLER]
    for request in (first, second):
        assert answer(world, request).reason == "switchover_in_progress"
    assert world.sim.counts["switchover"] == 1


async def test_a_stopping_controller_leaves_requests_pending(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    async with world.controller(policy=NO_DEBOUNCE) as parts:
        request = ask(world, "sales")
        parts.reconciler.stopping = True
        await world.cycle(parts)
    assert answer(world, request).state is RequestState.PENDING
    assert world.sim.counts["switchover"] == 0


async def test_a_rejected_request_is_done_and_its_switchover_says_why(world: World) -> None:
    world.sim.add_cluster(id="c1", name="sales", flags={"UNBALANCED"})
    world.sim.faults.inject("switchover", "status", status=403)
    async with world.controller(policy=NO_DEBOUNCE) as parts:
        request = ask(world, "sales")
        report = await world.cycle(parts)
    [rejected] = report.finished
    assert rejected.outcome is Outcome.REJECTED
    assert answer(world, request).switchover_id == rejected.id


@pytest.mark.parametrize(
    ("poll", "ttl"),
    [
        (dt.timedelta(seconds=60), REQUEST_TTL_FLOOR),
        (dt.timedelta(minutes=5), dt.timedelta(minutes=25)),
    ],
)
def test_the_ttl_outlasts_a_backed_off_cycle(poll: dt.timedelta, ttl: dt.timedelta) -> None:
    assert request_ttl(poll) == ttl


def test_resolve_by_id_then_by_a_unique_name() -> None:
    a, b, c = (
        Cluster("id-a", "sales", "AVAILABLE"),
        Cluster("id-b", "x", "AVAILABLE"),
        Cluster("id-c", "x", "AVAILABLE"),
    )
    assert resolve([a, b, c], "id-a") is a
    assert resolve([a, b, c], "sales") is a
    assert resolve([a, b, c], "x") is None, "an ambiguous name is no answer"
    assert resolve([a, b, c], "nope") is None


def test_a_non_action_is_one_sentence_saying_nothing_was_sent() -> None:
    now = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    blocked = Decision(
        "c1", "sales", Action.BLOCKED, Reason.COOLDOWN, "cooldown 6h until 07:00", now
    )
    dry = Decision("c1", "sales", Action.DRY_RUN, Reason.DRY_RUN, "dry run", now)
    assert no_action_sentence(blocked) == (
        "sales is blocked (cooldown): cooldown 6h until 07:00 (no switchover sent)"
    )
    assert no_action_sentence(dry) == "sales: dry run is on (no switchover sent)"
