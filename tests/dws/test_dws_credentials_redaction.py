"""Every secret obtained at run time is masked in every log line: temporary keys, security and session tokens, JWTs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from credkit import IDP_ID, IdentityProvider, federation, identity
from dwskit import PROJECT, START, ClientFactory

from controller.app.credentials import credential_from_settings
from controller.clock import ManualClock
from controller.dws.credentials.metadata import MetadataCredential
from controller.dws.credentials.oidc import OidcCredential
from controller.dws.credentials.pod_identity import PodIdentityCredential
from controller.dws.credentials.secretfile import SecretFile
from controller.logs import REDACTED, configure_logging, get_logger
from controller.settings import load_settings
from controller.simulator.world import Simulator

POD_TOKEN = "pod-identity-bearer-Secret-42"


def issued_secrets(sim: Simulator) -> list[str]:
    """Everything the emulator handed out that a log line must never show."""
    state = sim.identity
    values = [v for ak, key in state.keys.items() for v in (ak, key.sk, key.security_token)]
    return [*values, *state.metadata_tokens, *state.unscoped_tokens, *sim.tokens]


async def test_run_time_secrets_never_reach_a_log_line(
    sim: Simulator, in_process: ClientFactory, clock: ManualClock, tmp_path: Path
) -> None:
    idp = IdentityProvider.new()
    sim.identity.spec = identity(metadata={}, federation_spec=federation(idp), pod_token=POD_TOKEN)
    jwt_file, pod_file = tmp_path / "jwt", tmp_path / "pod"
    jwt = idp.token(clock.now())
    jwt_file.write_text(jwt)
    pod_file.write_text(POD_TOKEN)
    for credential in (
        MetadataCredential("http://metadata.sim", PROJECT, clock),
        OidcCredential("http://iam.sim", IDP_ID, jwt_file, PROJECT, clock),
        PodIdentityCredential(
            "http://pod.sim/v1/pod-identity/credentials", pod_file, PROJECT, clock
        ),
    ):
        await in_process(auth=credential.auth()).list_clusters()
    secrets = [*issued_secrets(sim), jwt, POD_TOKEN]
    assert len(sim.identity.keys) == 3
    assert len(sim.identity.unscoped_tokens) == 1
    assert len(sim.identity.metadata_tokens) == 1

    out = io.StringIO()
    configure_logging(fmt="json", level="info", stream=out)
    log = get_logger("test")
    for value in secrets:
        # in free text, JSON-quoted inside a value, and as a URL query: every spelling
        log.info("leak", detail=f"got {value} from IAM", body=json.dumps({"x": value}))
        log.info("leak", url=f"http://x/?v={value}")
    text = out.getvalue()
    leaked = [v[:6] + "…" for v in secrets if v in text]
    assert leaked == []
    assert text.count(REDACTED) >= 2 * len(secrets)


@pytest.mark.parametrize("spelling", ["repr", "json"])
def test_a_jwt_read_from_its_file_is_masked_in_any_spelling(tmp_path: Path, spelling: str) -> None:
    path = tmp_path / "jwt"
    path.write_text(IdentityProvider.new().token(START))
    jwt = SecretFile(path).get_secret_value()
    out = io.StringIO()
    configure_logging(fmt="json", level="info", stream=out)
    shown = repr({"id_tok": jwt}) if spelling == "repr" else json.dumps({"auth": {"id": jwt}})
    get_logger("test").info("request_body", content=shown)
    assert jwt not in out.getvalue()
    assert REDACTED in out.getvalue()


def test_keys_from_the_sdk_environment_are_masked_once_chosen() -> None:
    environ = {
        "DWS_REBALANCER_ENDPOINT": "https://dws.example",
        "DWS_REBALANCER_PROJECT_ID": PROJECT,
    }
    sdk = {
        "HUAWEICLOUD_SDK_AK": "ENVAK0000011112222",
        "HUAWEICLOUD_SDK_SK": "env-SK-never-logged-77",
    }
    credential_from_settings(load_settings(None, environ), ManualClock(START), sdk)
    out = io.StringIO()
    configure_logging(fmt="json", level="info", stream=out)
    get_logger("test").info(
        "leak", detail=f"{sdk['HUAWEICLOUD_SDK_AK']}:{sdk['HUAWEICLOUD_SDK_SK']}"
    )
    assert "env-SK-never-logged-77" not in out.getvalue()
    assert "ENVAK0000011112222" not in out.getvalue()
