"""The vendor SDK's own credential providers get keys from our emulator and call DWS with them; so does our chain.

Like test_dws_conformance.py: the emulator on a real socket, huaweicloudsdkcore's metadata,
environment (AK/SK and OIDC) and pod identity providers on one side, our credential chain on
the other, and both must see the same clusters with the same kind of credentials. The
emulator runs on the system clock here because the SDK judges expiry by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from credkit import IDP_ID, IdentityProvider, federation, identity
from dwskit import AK, BALANCED, PROJECT, SK, UNBALANCED
from huaweicloudsdkcore.auth.internal import MetadataAccessor
from huaweicloudsdkcore.auth.provider import (
    EnvCredentialProvider,
    MetadataCredentialProvider,
    PodIdentityCredentialProvider,
)
from huaweicloudsdkdws.v2 import DwsClient as SdkClient
from huaweicloudsdkdws.v2 import ListClustersRequest

from controller.app.credentials import credential_from_settings
from controller.clock import SystemClock
from controller.dws.client import DwsClient
from controller.settings import load_settings
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

POD_TOKEN = "pod-identity-token-0123456789"
EXPECTED = sorted([UNBALANCED, BALANCED])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Simulator, str, Path, Path]]:
    clock = SystemClock()
    idp = IdentityProvider.new()
    sim = Simulator(clock, project_id=PROJECT, ak=AK, sk=SK)
    sim.add_cluster(id=UNBALANCED, name="dws-a", flags={"UNBALANCED"})
    sim.add_cluster(id=BALANCED, name="dws-b")
    sim.identity.spec = identity(metadata={}, federation_spec=federation(idp), pod_token=POD_TOKEN)
    id_token, pod_token = tmp_path / "id-token", tmp_path / "pod-token"
    id_token.write_text(idp.token(clock.now()))
    pod_token.write_text(POD_TOKEN)
    with BackgroundServer(sim) as running:
        yield sim, running.url, id_token, pod_token


@pytest.fixture(autouse=True)
def _clean_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    for name in (
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_IDP_ID",
        "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
        "HUAWEICLOUD_SDK_IAM_ENDPOINT",
        "HC_CONTAINER_CREDENTIALS_FULL_URI",
        "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def sdk_environment(source: str, url: str, id_token: Path, pod_token: Path) -> dict[str, str]:
    """The environment each source needs (the vendor SDK's names), metadata aside."""
    return {
        "metadata": {},
        "env_oidc": {
            "HUAWEICLOUD_SDK_IDP_ID": IDP_ID,
            "HUAWEICLOUD_SDK_ID_TOKEN_FILE": str(id_token),
            "HUAWEICLOUD_SDK_IAM_ENDPOINT": url,
        },
        "pod_identity": {
            "HC_CONTAINER_CREDENTIALS_FULL_URI": url + "/v1/pod-identity/credentials",
            "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(pod_token),
        },
    }[source]


#: Which emulator endpoints each source calls to get its keys.
CALLS = {
    "metadata": {"metadata_token": 1, "metadata_securitykey": 1},
    "env_oidc": {"iam_id_token": 1, "iam_securitytoken": 1},
    "pod_identity": {"pod_identity": 1},
}
KEY_SOURCE = {"metadata": "metadata", "env_oidc": "federation", "pod_identity": "pod_identity"}


def _sdk_credentials(source: str) -> Any:
    if source == "metadata":
        provider = MetadataCredentialProvider.get_basic_credential_metadata_provider()
        provider.project_id = PROJECT
        return provider.get_credentials()
    if source == "env_oidc":
        return EnvCredentialProvider.get_basic_credential_env_provider().get_credentials()
    return PodIdentityCredentialProvider.get_basic().get_credentials().with_project_id(PROJECT)


def _calls(sim: Simulator) -> dict[str, int]:
    names = {n for c in CALLS.values() for n in c}
    return {n: sim.counts[n] for n in sorted(names) if sim.counts[n]}


@pytest.mark.parametrize("source", sorted(CALLS))
def test_vendor_sdk_providers(
    world: tuple[Simulator, str, Path, Path], monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    sim, url, id_token, pod_token = world
    monkeypatch.setattr(MetadataAccessor, "_METADATA_ENDPOINT", url)
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT)
    for name, value in sdk_environment(source, url, id_token, pod_token).items():
        monkeypatch.setenv(name, value)
    credentials = _sdk_credentials(source)
    sdk = SdkClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()
    listed = sdk.list_clusters(ListClustersRequest()).clusters
    assert sorted(c.id for c in listed) == EXPECTED
    assert _calls(sim) == CALLS[source]
    assert [k.source for k in sim.identity.keys.values()] == [KEY_SOURCE[source]]
    assert sim.counts["unauthorized"] == 0


@pytest.mark.parametrize("source", sorted(CALLS))
async def test_our_chain_with_the_same_sources(
    world: tuple[Simulator, str, Path, Path], source: str
) -> None:
    sim, url, id_token, pod_token = world
    environ = {
        "DWS_REBALANCER_ENDPOINT": url,
        "DWS_REBALANCER_PROJECT_ID": PROJECT,
        "DWS_REBALANCER_AUTH__METADATA_ENDPOINT": url,
    }
    settings = load_settings(None, environ)
    env = sdk_environment(source, url, id_token, pod_token)
    credential = credential_from_settings(settings, SystemClock(), env)
    assert credential.method == {"env_oidc": "oidc"}.get(source, source)  # chosen by `auto`
    async with DwsClient(endpoint=url, project_id=PROJECT, auth=credential.auth()) as client:
        listed = await client.list_clusters()
    assert sorted(c.id for c in listed) == EXPECTED
    assert _calls(sim) == CALLS[source]
    assert [k.source for k in sim.identity.keys.values()] == [KEY_SOURCE[source]]
    assert sim.counts["unauthorized"] == 0


def test_vendor_sdk_with_temporary_keys_from_the_environment(
    world: tuple[Simulator, str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, url, _, _ = world
    keys = sim.identity.issue_keys("metadata", sim.clock.now(), sim.identity.spec.metadata.key_ttl)  # type: ignore[union-attr]
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", keys["access"])
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", keys["secret"])
    monkeypatch.setenv("HUAWEICLOUD_SDK_SECURITY_TOKEN", keys["securitytoken"])
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT)
    credentials = EnvCredentialProvider.get_basic_credential_env_provider().get_credentials()
    sdk = SdkClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()
    assert sorted(c.id for c in sdk.list_clusters(ListClustersRequest()).clusters) == EXPECTED
    assert sim.counts["unauthorized"] == 0


async def test_our_chain_with_temporary_keys_from_the_environment(
    world: tuple[Simulator, str, Path, Path],
) -> None:
    sim, url, _, _ = world
    keys = sim.identity.issue_keys("metadata", sim.clock.now(), sim.identity.spec.metadata.key_ttl)  # type: ignore[union-attr]
    env = {
        "HUAWEICLOUD_SDK_AK": keys["access"],
        "HUAWEICLOUD_SDK_SK": keys["secret"],
        "HUAWEICLOUD_SDK_SECURITY_TOKEN": keys["securitytoken"],
        "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
    }
    settings = load_settings(
        None, {"DWS_REBALANCER_ENDPOINT": url, "DWS_REBALANCER_PROJECT_ID": PROJECT}
    )
    credential = credential_from_settings(settings, SystemClock(), env)
    assert credential.method == "env"
    async with DwsClient(endpoint=url, project_id=PROJECT, auth=credential.auth()) as client:
        assert sorted(c.id for c in await client.list_clusters()) == EXPECTED
    assert sim.counts["unauthorized"] == 0
