"""As a user runs it: `dws-rebalancer simulator` with identity sources, `check-config` without any key in its config."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stamina
from credkit import AUDIENCE, IDP_ID, ISSUER, IdentityProvider

from controller.clock import SystemClock

pytestmark = pytest.mark.e2e

PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environ(**extra: str) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("DWS_REBALANCER_", "HUAWEICLOUD_SDK_", "HC_CONTAINER_"))
    }
    return {**keep, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", **extra}


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider.new()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory, idp: IdentityProvider) -> Iterator[str]:
    scenario = tmp_path_factory.mktemp("emulator") / "scenario.yaml"
    identity = {
        "metadata": {"key_ttl": "1h"},
        "federation": {
            "idp_id": IDP_ID,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks": {"keys": [idp.jwk()]},
        },
    }
    body = {"project_id": PROJECT, "clusters": [{"name": "dws-a"}], "identity": identity}
    scenario.write_text(json.dumps(body))  # JSON is YAML
    port = _free_port()
    command = [sys.executable, "-m", "controller", "simulator", "--scenario", str(scenario)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=_environ(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for attempt in stamina.retry_context(on=httpx.TransportError, attempts=100, wait_max=0.2):
            with attempt:
                httpx.get(url, timeout=1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def check_config(
    tmp_path: Path, url: str, auth: str, **env: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"endpoint: {url}\nproject_id: {PROJECT}\njournal_path: {tmp_path}/j.db\nauth: {auth}\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "controller", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_environ(**env),
    )


def test_check_config_with_the_node_agency(emulator: str, tmp_path: Path) -> None:
    done = check_config(
        tmp_path, emulator, f"{{method: metadata, metadata_endpoint: '{emulator}'}}"
    )
    assert done.returncode == 0, done.stderr
    assert "authenticated; 1 cluster(s)" in done.stdout
    chosen = [json.loads(line) for line in done.stderr.splitlines() if "credentials_chosen" in line]
    assert [(c["method"], c["source"]) for c in chosen] == [("metadata", "auth.method")]


def test_check_config_with_oidc_from_the_sdk_variables(
    emulator: str, tmp_path: Path, idp: IdentityProvider
) -> None:
    token = tmp_path / "token"
    token.write_text(idp.token(SystemClock().now()))
    done = check_config(
        tmp_path,
        emulator,
        "{}",
        HUAWEICLOUD_SDK_IDP_ID=IDP_ID,
        HUAWEICLOUD_SDK_ID_TOKEN_FILE=str(token),
        HUAWEICLOUD_SDK_IAM_ENDPOINT=emulator,
    )
    assert done.returncode == 0, done.stderr
    assert "authenticated; 1 cluster(s)" in done.stdout
    assert token.read_text() not in done.stderr + done.stdout


def test_check_config_with_a_wrong_audience_fails_closed(
    emulator: str, tmp_path: Path, idp: IdentityProvider
) -> None:
    token = tmp_path / "token"
    token.write_text(idp.token(SystemClock().now(), aud="someone-else"))
    done = check_config(
        tmp_path,
        emulator,
        f"{{idp_id: {IDP_ID}, id_token_file: {token}, iam_endpoint: '{emulator}'}}",
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(errors) == 1
    assert errors[0].startswith(
        "dws-rebalancer: iam_id_token failed: HTTP 401: The ID token is not accepted: the ID "
        f"token's audience 'someone-else' does not include '{AUDIENCE}'. (request id "
    )
    assert "authenticated" not in done.stdout
