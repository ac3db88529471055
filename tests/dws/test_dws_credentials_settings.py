"""The `auth` settings of each credential method: accepted shapes, one-line errors, exit code 2, masking."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dwskit import PROJECT

from controller.app.cli import main
from controller.settings import Auth, ConfigError, load_settings


def load(tmp_path: Path, auth: str) -> Auth:
    path = tmp_path / "config.yaml"
    path.write_text(f"endpoint: https://dws.example\nproject_id: {PROJECT}\nauth: {auth}\n")
    return load_settings(path, environ={}).auth


@pytest.mark.parametrize(
    ("auth", "method"),
    [
        ("{}", "auto"),  # nothing explicit: the chain decides at start
        ("{ak: AK, sk: S}", "aksk"),  # explicit keys: auto means that method
        ("{ak_file: /s/ak, sk_file: /s/sk, security_token_file: /s/st}", "aksk"),
        ("{token_file: /s/token}", "token"),
        ("{username: u, password_file: /s/pw, domain: d}", "password"),
        ("{idp_id: i, id_token_file: /t}", "oidc"),
        ("{idp_id: i}", "auto"),  # the token file may come from HUAWEICLOUD_SDK_ID_TOKEN_FILE
        ("{method: METADATA, metadata_endpoint: 'http://127.0.0.1:8088/'}", "metadata"),
        ("{method: pod-identity}", "pod_identity"),
        ("{method: env}", "env"),
        ("{method: oidc}", "oidc"),
    ],
)
def test_accepted(tmp_path: Path, auth: str, method: str) -> None:
    assert load(tmp_path, auth).method == method


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ("{method: magic}", "auth.method: Input should be 'auto', 'aksk'"),
        ("{method: aksk}", "auth.method aksk needs auth.ak (or auth.ak_file)"),
        ("{method: token}", "auth.method token needs auth.token (or auth.token_file)"),
        ("{method: password}", "auth.method password needs auth.username"),
        ("{method: metadata, ak: A, sk: S}", "auth.method is metadata, but keys of method aksk"),
        ("{method: env, idp_id: x}", "auth.idp_id and auth.id_token_file only go with"),
        ("{ak: A, sk: S, sk_file: /x}", "set auth.sk or auth.sk_file, not both"),
        ("{ak: A, ak_file: /x, sk: S}", "set auth.ak or auth.ak_file, not both"),
        ("{token_file: /t, idp_id: i, id_token_file: /f}", "more than one authentication method"),
        ("{token: T, security_token_file: /x}", "auth.security_token only goes with"),
        (
            "{method: metadata, metadata_endpoint: 'http://h/path'}",
            "auth.metadata_endpoint: Value error, an http(s) URL",
        ),
    ],
)
def test_refused_with_one_line(tmp_path: Path, auth: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, auth)
    assert message.removeprefix("auth.metadata_endpoint: Value error, ") in str(info.value)
    assert "\n" not in str(info.value)


def test_inline_secrets_are_masked_and_files_are_not_read_at_load(tmp_path: Path) -> None:
    auth = load(tmp_path, "{ak: AKVISIBLE, sk: inline-SK, security_token: inline-ST}")
    assert auth.secret_values() == ["inline-SK", "inline-ST", "AKVISIBLE"]
    assert (
        load(tmp_path, "{ak_file: /nonexistent/ak, sk_file: /nonexistent/sk}").secret_values() == []
    )


def _controller(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("DWS_REBALANCER_", "HUAWEICLOUD_SDK_", "HC_CONTAINER_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "controller", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**keep, **env},
    )


@pytest.mark.parametrize(
    ("auth", "env", "message"),
    [
        ("{method: oidc}", {}, "auth.method oidc needs auth.idp_id (or HUAWEICLOUD_SDK_IDP_ID)"),
        ("{method: env}", {}, "auth.method env: neither HUAWEICLOUD_SDK_AK"),
        (
            "{method: oidc, idp_id: i}",
            {"HUAWEICLOUD_SDK_ID_TOKEN_FILE": "/nonexistent/token"},
            "cannot read id token file /nonexistent/token: No such file or directory",
        ),
        ("{ak: A, sk_file: /nonexistent/sk}", {}, "cannot read auth.sk_file /nonexistent/sk"),
    ],
)
def test_a_method_that_cannot_work_exits_2_with_one_line(
    tmp_path: Path, auth: str, env: dict[str, str], message: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"endpoint: http://127.0.0.1:9\nproject_id: {PROJECT}\nauth: {auth}\n")
    done = _controller(config, env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"dws-rebalancer: {message}"] or (
        done.stderr.startswith(f"dws-rebalancer: {message}") and done.stderr.count("\n") == 1
    )


def test_main_returns_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("HUAWEICLOUD_SDK_", "HC_CONTAINER_", "DWS_REBALANCER_")):
            monkeypatch.delenv(name)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"endpoint: http://127.0.0.1:9\nproject_id: {PROJECT}\nauth: {{method: pod_identity}}\n"
    )
    assert main(["check-config", "--config", str(config)]) == 2
