"""Sharding and resharding: each replica owns its share of the targets, a target new to a replica
starts with caution, and a resharding never yields two switchovers of one cluster.

Six targets, one unbalanced cluster each, in one emulated region (manual clock, in process).
The fleet runs on 2 replicas, then on 3: during the rollout the old pods keep running beside the
new one, and each cluster is re-unbalanced as soon as a switchover of it ends, so every owner
wants to act again at once. Every POST is tagged with the replica that sent it.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from controller.app.bootstrap import Fleet, assemble_fleet
from controller.clock import ManualClock
from controller.journal import Journal
from controller.model import Reason
from controller.settings import Settings
from controller.simulator.region import Region, create_region_app
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator
from controller.targets import owner

AK, SK = "SHARDAK0000000000001", "shard-secret-key-value"
#: Three per replica of two, two per replica of three (the stable hash decides).
NAMES = [f"dw{i}" for i in range(6)]
START = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


class Tagged(httpx.AsyncBaseTransport):
    """The emulator's transport, noting which replica sent each switchover POST."""

    def __init__(self, inner: httpx.AsyncBaseTransport, who: str, posts: list[tuple[str, str]]):
        self.inner, self.who, self.posts = inner, who, posts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/switchover"):
            self.posts.append((self.who, request.url.path.split("/")[-2]))
        return response


def world(clock: ManualClock) -> tuple[Region, dict[str, Simulator]]:
    sims = {}
    for name in NAMES:
        sim = Simulator(clock, project_id=f"p-{name}", ak=AK, sk=SK)
        sim.add_cluster(id=f"c-{name}", name="dw", flags={"UNBALANCED"}, switchover_base_seconds=60)
        sims[name] = sim
    return Region("cn-north-4", list(sims.values())), sims


def settings(tmp: Path, journal: str, replicas: int, ordinal: int) -> Settings:
    return Settings(
        endpoint="http://dws.sim",
        auth={"ak": AK, "sk": SK},
        journal_path=tmp / journal,
        policy={
            "windows": [],
            "use_maintenance_window": False,
            "min_unbalanced_duration": "0s",
            "cooldown": "0s",  # an owner acts again at once: only the caution holds a newcomer
            "max_concurrent": 5,
        },
        targets=[{"name": n, "project_id": f"p-{n}"} for n in NAMES],
        sharding={"replicas": replicas, "ordinal": ordinal},
    )


@contextlib.asynccontextmanager
async def replica(
    config: Settings, clock: ManualClock, region: Region, who: str, posts: list[tuple[str, str]]
) -> AsyncIterator[Fleet]:
    transport = Tagged(SimulatorTransport(create_region_app(region)), who, posts)
    async with assemble_fleet(config, clock=clock, transport=transport) as fleet:
        yield fleet


async def cycle(fleet: Fleet, clock: ManualClock) -> dict[str, Any]:
    decisions = {}
    for parts in fleet.targets:
        for d in (await parts.reconciler.reconcile_once(clock.now())).decisions:
            decisions[parts.settings.target] = d
    return decisions


def running_before(tmp: Path, journal: str, replicas: int, ordinal: int) -> None:
    """A replica that has owned its share for a day (its journal says so)."""
    mine = [n for n in NAMES if owner(n, replicas) == ordinal]
    with Journal.open(tmp / journal, now=START - dt.timedelta(days=1)) as opened:
        opened.set_owned_targets(mine, at=START - dt.timedelta(days=1))


def unbalance_the_balanced(sims: dict[str, Simulator]) -> None:
    for sim in sims.values():
        cluster = sim.cluster("c-" + sim.project_id.removeprefix("p-"))
        if cluster.task_status is None and "UNBALANCED" not in cluster.flags:
            sim.set(cluster.id, flags={"UNBALANCED"})


def test_each_replica_owns_its_share() -> None:
    shares = [{t for t in NAMES if owner(t, 3) == k} for k in range(3)]
    assert set().union(*shares) == set(NAMES)
    assert all(shares), shares  # the six names spread over all three


async def test_a_resharding_never_yields_two_switchovers_of_one_cluster(tmp_path: Path) -> None:
    clock = ManualClock(START)
    region, sims = world(clock)
    posts: list[tuple[str, str]] = []
    running_before(tmp_path, "a.db", 2, 0)
    running_before(tmp_path, "b.db", 2, 1)
    async with contextlib.AsyncExitStack() as old:
        old0 = await old.enter_async_context(
            replica(settings(tmp_path, "a.db", 2, 0), clock, region, "old0", posts)
        )
        old1 = await old.enter_async_context(
            replica(settings(tmp_path, "b.db", 2, 1), clock, region, "old1", posts)
        )
        for fleet in (old0, old1):
            await cycle(fleet, clock)
        assert sorted(c for _, c in posts) == sorted(f"c-{n}" for n in NAMES)
        assert all(owner(c.removeprefix("c-"), 2) == int(who[-1]) for who, c in posts)

        # The rollout to 3 replicas: the new pod 2 starts while both old pods still run.
        new2_settings = settings(tmp_path, "c.db", 3, 2)
        async with replica(new2_settings, clock, region, "new2", posts) as new2:
            moved = {p.settings.target for p in new2.targets}
            assert moved
            assert all(p.reconciler.caution is not None for p in new2.targets)
            for _ in range(30):  # half an hour, a cycle a minute for every pod
                clock.advance(MINUTE)
                for fleet in (old0, old1):
                    await cycle(fleet, clock)
                held = await cycle(new2, clock)
                unbalance_the_balanced(sims)
            # The newcomer never POSTed: the old owners were still acting on its targets.
            assert {who for who, _ in posts} == {"old0", "old1"}
            assert {d.reason for t, d in held.items()} <= {
                Reason.COOLDOWN,
                Reason.SWITCHOVER_IN_PROGRESS,
            }
            # It adopted the switchovers its old owners had running: followed, not repeated.
            tracked = {cid for p in new2.targets for cid in p.reconciler.tracked}
            assert tracked <= {f"c-{t}" for t in moved}
    # Never two switchovers of one cluster at once: each POST found the cluster idle.
    by_cluster = collections.Counter(c for _, c in posts)
    assert all(sim.counts.get("switchover_refused", 0) == 0 for sim in sims.values())
    assert sum(by_cluster.values()) == len(posts)


async def test_a_target_new_to_an_existing_journal_waits_and_says_why(tmp_path: Path) -> None:
    clock = ManualClock(START)
    region, _ = world(clock)
    posts: list[tuple[str, str]] = []
    running_before(tmp_path, "a.db", 2, 0)
    async with replica(settings(tmp_path, "a.db", 2, 0), clock, region, "old0", posts) as fleet:
        owned_before = {p.settings.target for p in fleet.targets}
    clock.advance(MINUTE)
    async with replica(settings(tmp_path, "a.db", 3, 0), clock, region, "new0", posts) as fleet:
        decisions = await cycle(fleet, clock)
        cautious = {p.settings.target for p in fleet.targets if p.reconciler.caution is not None}
    assert cautious == {p for p in decisions} - owned_before
    for target in cautious:
        assert decisions[target].reason is Reason.COOLDOWN
        assert decisions[target].detail.startswith(
            "target newly owned, so assuming a switchover at"
        )
        assert "cooldown 1h until" in decisions[target].detail
    kept = set(decisions) - cautious
    assert all(decisions[t].reason is Reason.ELIGIBLE for t in kept)
