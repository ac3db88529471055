"""CCE pod identity against the emulator: the token file's content buys temporary keys; it is re-read each time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from credkit import identity
from dwskit import PROJECT, ClientFactory

from controller.clock import ManualClock
from controller.dws.credentials.pod_identity import PodIdentityCredential
from controller.dws.errors import AuthenticationError
from controller.simulator.world import Simulator

URI = "http://pod-identity.sim/v1/pod-identity/credentials"


def rotate(path: Path, token: str) -> None:
    path.write_text(token)


@pytest.fixture
def token_file(tmp_path: Path, sim: Simulator) -> Path:
    sim.identity.spec = identity(pod_token="pod-token-one")
    path = tmp_path / "token"
    rotate(path, "pod-token-one")
    return path


async def test_keys_for_the_pod_token_and_renewal_with_the_rotated_one(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, token_file: Path
) -> None:
    client = in_process(auth=PodIdentityCredential(URI, token_file, PROJECT, clock).auth())
    assert len(await client.list_clusters()) == 2
    sim.identity.spec = identity(pod_token="pod-token-two")
    rotate(token_file, "pod-token-two")
    clock.advance(dt.timedelta(minutes=51))  # keys for 1 h: renewed 10 minutes before
    assert len(await client.list_clusters()) == 2
    assert sim.counts["pod_identity"] == 2
    assert sim.counts["unauthorized"] == 0


async def test_a_refused_pod_token_means_no_dws_call(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, token_file: Path
) -> None:
    rotate(token_file, "someone-elses-token")
    client = in_process(auth=PodIdentityCredential(URI, token_file, PROJECT, clock).auth())
    with pytest.raises(AuthenticationError) as info:
        await client.list_clusters()
    assert str(info.value).startswith(
        "pod_identity failed: HTTP 401 CCE.01400001: invalid pod identity token"
    )
    assert sim.counts["list_clusters"] == 0
