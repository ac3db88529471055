"""Node agency keys from the emulated metadata service: session-token protocol, refresh on the virtual clock, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from credkit import identity
from dwskit import PROJECT, ClientFactory
from structlog.testing import capture_logs

from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth
from controller.dws.credentials.base import TemporaryKeys
from controller.dws.credentials.metadata import MetadataCredential
from controller.dws.credentials.refreshing import RefreshingAuth
from controller.dws.errors import AuthenticationError
from controller.simulator.world import Simulator

METADATA = "http://metadata.sim"


def metadata_auth(clock: ManualClock) -> RefreshingAuth:
    auth = MetadataCredential(METADATA, PROJECT, clock).auth()
    assert isinstance(auth, RefreshingAuth)
    return auth


@pytest.fixture(autouse=True)
def _metadata_service(sim: Simulator) -> None:
    sim.identity.spec = identity(metadata={"key_ttl": "1h"})


async def test_session_token_then_keys_then_dws(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    auth = metadata_auth(clock)
    client = in_process(auth=auth)
    assert len(await client.list_clusters()) == 2
    assert len(await client.list_clusters()) == 2
    calls = {k: sim.counts[k] for k in ("metadata_token", "metadata_securitykey", "list_clusters")}
    assert calls == {"metadata_token": 1, "metadata_securitykey": 1, "list_clusters": 2}
    assert sim.counts["unauthorized"] == 0
    grant = auth.grant
    assert isinstance(grant, TemporaryKeys)
    assert sim.identity.keys[grant.ak].source == "metadata"
    assert grant.expires_at == clock.now() + dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("advance", "fetches"),
    [
        (dt.timedelta(minutes=49), 1),  # more than 10 minutes left: the keys are kept
        (dt.timedelta(minutes=51), 2),  # less: renewed before they expire
    ],
)
async def test_renewed_about_ten_minutes_before_expiry(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    advance: dt.timedelta,
    fetches: int,
) -> None:
    client = in_process(auth=metadata_auth(clock))
    await client.list_clusters()
    clock.advance(advance)
    await client.list_clusters()
    assert sim.counts["metadata_securitykey"] == fetches
    assert sim.counts["metadata_token"] == 1  # the 6-hour session token is still good
    assert sim.counts["unauthorized"] == 0


async def test_keys_really_expire(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    auth = metadata_auth(clock)
    await in_process(auth=auth).list_clusters()
    old = auth.grant
    assert isinstance(old, TemporaryKeys)
    clock.advance(dt.timedelta(minutes=61))
    replay = AkSkAuth(
        old.ak, old.sk, project_id=PROJECT, security_token=old.security_token, clock=clock
    )
    with pytest.raises(AuthenticationError, match="the temporary access key has expired"):
        await in_process(auth=replay).list_clusters()
    # Without its security token a current temporary key is refused too.
    await in_process(auth=auth).list_clusters()
    current = auth.grant
    assert isinstance(current, TemporaryKeys)
    assert current.ak != old.ak
    bare = AkSkAuth(current.ak, current.sk, project_id=PROJECT, clock=clock)
    with pytest.raises(AuthenticationError, match="need an X-Security-Token"):
        await in_process(auth=bare).list_clusters()


async def test_expired_session_token_gets_a_new_one_and_one_retry(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=metadata_auth(clock))
    await client.list_clusters()
    sim.identity.metadata_tokens.clear()  # the service forgot the session (a restart)
    clock.advance(dt.timedelta(minutes=55))
    assert len(await client.list_clusters()) == 2
    assert sim.counts["metadata_token"] == 2
    assert sim.counts["metadata_securitykey"] == 3  # refused once, then answered


async def test_a_service_without_the_token_api_is_asked_without_a_token(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    sim.identity.spec = identity(metadata={"token_api": False, "require_token": False})
    assert len(await in_process(auth=metadata_auth(clock)).list_clusters()) == 2
    assert sim.counts["metadata_token"] == 1  # the PUT, answered 404
    assert sim.counts["metadata_securitykey"] == 1


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"agency": False}, "HTTP 401: Please configure Cloud Service Agency first"),
        (None, "metadata_securitykey failed: HTTP 404"),
    ],
    ids=["no-agency", "no-metadata-service"],
)
async def test_no_credentials_means_no_dws_call(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    metadata: dict[str, object] | None,
    message: str,
) -> None:
    sim.identity.spec = identity(metadata=metadata)
    with pytest.raises(AuthenticationError, match=message):
        await in_process(auth=metadata_auth(clock)).list_clusters()
    assert sim.counts["list_clusters"] == 0
    assert sim.counts["metadata_token"] == 1  # "no agency" is not helped by a new session


async def test_revoked_keys_are_replaced_once_on_a_401(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=metadata_auth(clock))
    await client.list_clusters()
    sim.identity.keys.clear()
    assert len(await client.list_clusters()) == 2
    assert sim.counts["unauthorized"] == 1
    assert sim.counts["metadata_securitykey"] == 2


async def test_parallel_requests_fetch_once(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=metadata_auth(clock))
    results = await asyncio.gather(*(client.list_clusters() for _ in range(5)))
    assert [len(r) for r in results] == [2] * 5
    assert sim.counts["metadata_securitykey"] == 1


async def test_a_failed_renewal_keeps_valid_keys_until_they_expire(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    client = in_process(auth=metadata_auth(clock))
    await client.list_clusters()
    sim.identity.spec = identity(metadata={"agency": False})  # the agency was detached
    clock.advance(dt.timedelta(minutes=51))
    with capture_logs() as logs:
        assert len(await client.list_clusters()) == 2  # 9 minutes left: still signed with them
        assert len(await client.list_clusters()) == 2  # tried again only a minute later
    assert [e["event"] for e in logs] == ["credentials_renewal_failed"]
    assert "Please configure Cloud Service Agency first" in logs[0]["error"]
    clock.advance(dt.timedelta(minutes=10))  # past their expiry: nothing is signed with them
    with pytest.raises(AuthenticationError, match="Cloud Service Agency"):
        await client.list_clusters()
    assert sim.counts["metadata_securitykey"] == 3
    assert sim.counts["list_clusters"] == 3
    assert sim.counts["unauthorized"] == 0
