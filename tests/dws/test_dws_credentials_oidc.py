"""OIDC workload identity federation against the emulated IAM: a projected token for temporary keys, on the virtual clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from credkit import IDP_ID, IdentityProvider, federation, identity
from dwskit import PROJECT, ClientFactory

from controller.clock import ManualClock
from controller.dws.credentials.base import CredentialsUnavailable, ScopedToken, TemporaryKeys
from controller.dws.credentials.oidc import OidcCredential
from controller.dws.credentials.refreshing import RefreshingAuth
from controller.dws.errors import AuthenticationError
from controller.simulator.world import Simulator

IAM = "http://iam.sim"


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider.new()


@pytest.fixture
def token_file(tmp_path: Path, idp: IdentityProvider, clock: ManualClock) -> Path:
    path = tmp_path / "token"
    path.write_text(idp.token(clock.now()))
    return path


@pytest.fixture(autouse=True)
def _identity_provider(sim: Simulator, idp: IdentityProvider) -> None:
    sim.identity.spec = identity(federation_spec=federation(idp, max_duration="1h"))


def write(path: Path, text: str) -> None:
    """The kubelet's side: a new token in the projected file."""
    path.write_text(text)


def oidc_auth(clock: ManualClock, token_file: Path, idp_id: str = IDP_ID) -> RefreshingAuth:
    auth = OidcCredential(IAM, idp_id, token_file, PROJECT, clock).auth()
    assert isinstance(auth, RefreshingAuth)
    return auth


def iam_calls(sim: Simulator) -> dict[str, int]:
    return {k: sim.counts[k] for k in ("iam_id_token", "iam_securitytoken", "list_clusters")}


async def test_id_token_then_temporary_keys_then_dws(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, token_file: Path
) -> None:
    auth = oidc_auth(clock, token_file)
    client = in_process(auth=auth)
    assert len(await client.list_clusters()) == 2
    assert len(await client.list_clusters()) == 2
    assert iam_calls(sim) == {"iam_id_token": 1, "iam_securitytoken": 1, "list_clusters": 2}
    assert sim.identity.subjects == ["system:serviceaccount:dws:dws-rebalancer"]
    grant = auth.grant
    assert isinstance(grant, TemporaryKeys)
    # asked for 6 hours like the vendor SDK; this IAM caps at 1 hour
    assert grant.expires_at == clock.now() + dt.timedelta(hours=1)
    assert not sim.tokens  # the unscoped token is no good for DWS itself


async def test_a_project_scoped_token_is_used_directly(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    token_file: Path,
    idp: IdentityProvider,
) -> None:
    sim.identity.spec = identity(federation_spec=federation(idp, scoped=True, token_ttl="2h"))
    auth = oidc_auth(clock, token_file)
    assert len(await in_process(auth=auth).list_clusters()) == 2
    assert iam_calls(sim) == {"iam_id_token": 1, "iam_securitytoken": 0, "list_clusters": 1}
    assert isinstance(auth.grant, ScopedToken)


async def test_refresh_before_expiry_rereads_the_rotated_token_file(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    token_file: Path,
    idp: IdentityProvider,
) -> None:
    client = in_process(auth=oidc_auth(clock, token_file))
    await client.list_clusters()
    clock.advance(dt.timedelta(minutes=45))  # the first JWT expires at +60 min
    await client.list_clusters()
    assert sim.counts["iam_id_token"] == 1  # 15 minutes left: kept
    clock.advance(dt.timedelta(minutes=6))  # 9 minutes left: renewed, with the kubelet's new JWT
    write(token_file, idp.token(clock.now(), sub="system:serviceaccount:dws:rotated"))
    await client.list_clusters()
    assert iam_calls(sim) == {"iam_id_token": 2, "iam_securitytoken": 2, "list_clusters": 3}
    assert sim.identity.subjects[-1] == "system:serviceaccount:dws:rotated"
    assert sim.counts["unauthorized"] == 0


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": ["sts.other.example"]}, "audience ['sts.other.example'] does not include"),
        ({"iss": "https://evil.example"}, "issuer 'https://evil.example' is not"),
        ({"nbf": 4102444800}, "not valid yet"),
    ],
    ids=["wrong-audience", "wrong-issuer", "not-yet-valid"],
)
async def test_iam_refuses_the_id_token_with_one_clear_error_and_no_dws_call(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    token_file: Path,
    idp: IdentityProvider,
    claims: dict[str, Any],
    message: str,
) -> None:
    write(token_file, idp.token(clock.now(), **claims))
    with pytest.raises(AuthenticationError) as info:
        await in_process(auth=oidc_auth(clock, token_file)).list_clusters()
    text = str(info.value)
    assert text.startswith("iam_id_token failed: HTTP 401: The ID token is not accepted: ")
    assert message in text
    assert "\n" not in text
    assert iam_calls(sim) == {"iam_id_token": 1, "iam_securitytoken": 0, "list_clusters": 0}


async def test_an_expired_jwt_is_not_even_sent(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    token_file: Path,
    idp: IdentityProvider,
) -> None:
    write(token_file, idp.token(clock.now() - dt.timedelta(hours=2)))
    with pytest.raises(CredentialsUnavailable) as info:
        await in_process(auth=oidc_auth(clock, token_file)).list_clusters()
    assert str(info.value) == (
        f"iam_id_token failed: the ID token in {token_file} expired at "
        f"{(clock.now() - dt.timedelta(hours=1)).isoformat()} "
        "(is the projected service-account token volume mounted and rotated?)"
    )
    assert iam_calls(sim) == {"iam_id_token": 0, "iam_securitytoken": 0, "list_clusters": 0}


async def test_iam_checks_expiry_too(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    idp: IdentityProvider,
    tmp_path: Path,
) -> None:
    """A JWT without `exp` is not judged locally; IAM refuses it."""
    path = tmp_path / "no-exp"
    path.write_text(idp.token(clock.now(), exp=None))
    with pytest.raises(AuthenticationError, match="has expired \\(or has no exp\\)"):
        await in_process(auth=oidc_auth(clock, path)).list_clusters()
    assert iam_calls(sim) == {"iam_id_token": 1, "iam_securitytoken": 0, "list_clusters": 0}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("signature", "signature does not verify"),
        ("kid", "no key 'other' in the identity provider's JWKS"),
        ("alg", "algorithm 'none' is not RS256"),
    ],
)
async def test_a_forged_token_is_refused(
    sim: Simulator,
    in_process: ClientFactory,
    clock: ManualClock,
    token_file: Path,
    idp: IdentityProvider,
    tamper: str,
    message: str,
) -> None:
    if tamper == "signature":
        other = IdentityProvider.new(kid=idp.kid)  # same kid, another key
        token = other.token(clock.now())
    else:
        header = (
            {"alg": "RS256", "kid": "other"} if tamper == "kid" else {"alg": "none", "kid": idp.kid}
        )
        token = idp.token(clock.now(), header=header)
    write(token_file, token)
    with pytest.raises(AuthenticationError, match=message):
        await in_process(auth=oidc_auth(clock, token_file)).list_clusters()
    assert sim.counts["list_clusters"] == 0


async def test_an_unknown_identity_provider(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, token_file: Path
) -> None:
    with pytest.raises(AuthenticationError, match="HTTP 404: The identity provider in X-Idp-Id"):
        await in_process(auth=oidc_auth(clock, token_file, idp_id="nope")).list_clusters()
    assert sim.counts["list_clusters"] == 0


async def test_a_token_file_that_is_not_a_jwt(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, token_file: Path
) -> None:
    write(token_file, "not-a-jwt")
    with pytest.raises(CredentialsUnavailable, match=f"the ID token in {token_file} is not a JWT"):
        await in_process(auth=oidc_auth(clock, token_file)).list_clusters()
    assert sim.counts["iam_id_token"] == 0
