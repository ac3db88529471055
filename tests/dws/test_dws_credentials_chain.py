"""Choosing the credential method: explicit keys, then environment, pod identity, metadata; named methods never fall through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dwskit import PROJECT, START
from structlog.testing import capture_logs

from controller.app.credentials import credential_from_settings
from controller.clock import ManualClock
from controller.dws.credentials.chain import choose
from controller.settings import ConfigError, Settings, load_settings

SDK_AK = "SDKENVAK0123456789"
SDK_SK = "sdk-env-secret-key-value"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("header.eyJzdWIiOiJ4In0.sig")
    return path


def settings(**auth: Any) -> Settings:
    environ = {
        "DWS_REBALANCER_ENDPOINT": "https://dws.example",
        "DWS_REBALANCER_PROJECT_ID": PROJECT,
    }
    environ |= {f"DWS_REBALANCER_AUTH__{k.upper()}": str(v) for k, v in auth.items()}
    return load_settings(None, environ)


def chosen(auth: dict[str, Any], environ: dict[str, str]) -> tuple[str, str]:
    s = settings(**auth)
    choice = choose(
        s.auth, environ=environ, clock=ManualClock(START), project_id=PROJECT, region="r1"
    )
    return choice.credential.method, choice.source


def sdk_env(token_file: Path) -> dict[str, dict[str, str]]:
    return {
        "aksk": {"HUAWEICLOUD_SDK_AK": SDK_AK, "HUAWEICLOUD_SDK_SK": SDK_SK},
        "oidc": {"HUAWEICLOUD_SDK_IDP_ID": "idp", "HUAWEICLOUD_SDK_ID_TOKEN_FILE": str(token_file)},
        "pod": {
            "HC_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.2/v1/credentials",
            "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
        },
    }


@pytest.mark.parametrize(
    ("auth", "sources", "expected"),
    [
        ({"ak": "AK", "sk": "SK"}, ["aksk", "oidc", "pod"], ("aksk", "auth.method")),
        ({"token": "T"}, ["aksk"], ("token", "auth.method")),
        ({}, ["aksk", "oidc", "pod"], ("oidc", "environment")),  # OIDC wins, as in the SDK
        ({}, ["aksk", "pod"], ("env", "environment")),
        ({}, ["pod"], ("pod_identity", "pod identity")),
        ({}, [], ("metadata", "metadata service")),
        ({"idp_id": "mine"}, ["oidc"], ("oidc", "environment")),  # the file from the SDK's name
        ({"method": "metadata"}, ["aksk", "oidc", "pod"], ("metadata", "auth.method")),
        ({"method": "pod_identity"}, ["aksk", "pod"], ("pod_identity", "auth.method")),
        ({"method": "env"}, ["aksk", "pod"], ("env", "auth.method")),
    ],
)
def test_auto_order_and_named_methods(
    token_file: Path, auth: dict[str, Any], sources: list[str], expected: tuple[str, str]
) -> None:
    env = {k: v for s in sources for k, v in sdk_env(token_file)[s].items()}
    assert chosen(auth, env) == expected


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"method": "env"}, "auth.method env: neither HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"),
        ({"method": "oidc"}, "auth.method oidc needs auth.idp_id (or HUAWEICLOUD_SDK_IDP_ID)"),
        (
            {"method": "pod_identity"},
            "auth.method pod_identity needs HC_CONTAINER_CREDENTIALS_FULL_URI",
        ),
        (
            {"method": "oidc", "idp_id": "i", "id_token_file": "/nonexistent/token"},
            "cannot read id token file /nonexistent/token: No such file or directory",
        ),
        (
            {"ak": "AK", "sk_file": "/nonexistent/sk"},
            "cannot read auth.sk_file /nonexistent/sk: No such file",
        ),
    ],
)
def test_a_named_method_that_cannot_work_is_a_config_error(
    auth: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        credential_from_settings(settings(**auth), ManualClock(START), environ={})
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_the_sdk_project_variable_must_name_our_project() -> None:
    with pytest.raises(
        ConfigError, match="HUAWEICLOUD_SDK_PROJECT_ID is 'other' but project_id is"
    ):
        credential_from_settings(
            settings(ak="AK", sk="SK"), ManualClock(START), {"HUAWEICLOUD_SDK_PROJECT_ID": "other"}
        )


def test_the_iam_endpoint_from_settings_then_the_sdk_variable_then_the_region(
    token_file: Path,
) -> None:
    def iam(auth: dict[str, Any], environ: dict[str, str]) -> str:
        env = {**sdk_env(token_file)["oidc"], **environ}
        credential = credential_from_settings(settings(**auth), ManualClock(START), env)
        return credential.describe()["iam_endpoint"]

    assert iam({}, {}) == "https://iam.cn-north-4.myhuaweicloud.com"
    assert (
        iam({}, {"HUAWEICLOUD_SDK_IAM_ENDPOINT": "https://iam.sdk.example/"})
        == "https://iam.sdk.example"
    )
    assert (
        iam(
            {"iam_endpoint": "https://iam.mine.example"},
            {"HUAWEICLOUD_SDK_IAM_ENDPOINT": "https://iam.sdk.example"},
        )
        == "https://iam.mine.example"
    )


def test_the_choice_is_logged_without_a_secret(token_file: Path) -> None:
    with capture_logs() as logs:
        credential_from_settings(settings(), ManualClock(START), sdk_env(token_file)["aksk"])
    assert logs == [
        {
            "event": "credentials_chosen",
            "log_level": "info",
            "method": "env",
            "source": "environment",
            "sk": "inline",
            "temporary": "false",
        }
    ]
    assert SDK_SK not in str(logs)
    assert SDK_AK not in str(logs)
