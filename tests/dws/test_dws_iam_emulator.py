"""IAM password login against the emulator: obtain, refresh before expiry, refresh once on a 401, one login at a time."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from dwskit import UNBALANCED, ClientFactory, iam_auth
from pydantic import SecretStr

from controller.clock import ManualClock
from controller.dws.auth import IamPasswordAuth
from controller.dws.errors import AuthenticationError
from controller.simulator.world import Simulator


async def test_obtains_a_token_and_uses_it(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=iam_auth(clock))
    assert len(await client.list_clusters()) == 2
    assert (await client.switchover(UNBALANCED)).accepted is True
    assert sim.counts["iam_token"] == 1
    assert len(sim.tokens) == 1


@pytest.mark.parametrize(
    ("advance", "logins"),
    [
        (dt.timedelta(hours=23, minutes=29), 1),  # still outside the 30 min margin
        (dt.timedelta(hours=23, minutes=31), 2),  # inside it: refreshed before it expires
    ],
)
async def test_refreshes_before_expiry(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    advance: dt.timedelta,
    logins: int,
) -> None:
    client = in_process(auth=iam_auth(clock))
    await client.list_clusters()
    clock.advance(advance)
    await client.list_clusters()
    assert sim.counts["iam_token"] == logins
    assert sim.counts["unauthorized"] == 0  # never sent an expired token


async def test_refreshes_once_on_a_401_and_replays(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=iam_auth(clock))
    await client.list_clusters()
    sim.tokens.clear()  # IAM forgot the token before its expiry
    assert len(await client.list_clusters()) == 2
    assert sim.counts["unauthorized"] == 1
    assert sim.counts["iam_token"] == 2
    assert sim.counts["list_clusters"] == 2


async def test_a_second_401_reaches_the_caller(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    sim.faults.inject("list_clusters", "status", times=None, status=401)
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        await in_process(auth=iam_auth(clock)).list_clusters()
    assert sim.counts["iam_token"] == 2  # the first login and exactly one refresh
    assert sim.counts["list_clusters"] == 2


async def test_switchover_replayed_after_a_401_is_applied_once(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=iam_auth(clock))
    await client.list_clusters()
    sim.tokens.clear()
    assert (await client.switchover(UNBALANCED)).accepted is True
    assert len(sim.switchovers) == 1


async def test_parallel_requests_log_in_once(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    # A slow IAM makes every request arrive while the first login is still running.
    sim.faults.inject("iam_token", "latency", seconds=0.02)
    client = in_process(auth=iam_auth(clock))
    results = await asyncio.gather(*(client.list_clusters() for _ in range(5)))
    assert [len(r) for r in results] == [2] * 5
    assert sim.counts["iam_token"] == 1


async def test_wrong_password_is_an_authentication_error_with_iam_s_message(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    auth = IamPasswordAuth(
        "http://dws.sim", "alice", SecretStr("wrong"), "acme", sim.project_id, clock=clock
    )
    with pytest.raises(AuthenticationError) as info:
        await in_process(auth=auth).list_clusters()
    assert str(info.value).startswith(
        "iam_token failed: HTTP 401: The username or password is wrong. (request id "
    )
    assert sim.counts["list_clusters"] == 0
