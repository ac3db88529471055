"""The chart takes the approval API's bearer token from a Secret: mounted as a file, only when the API is on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import config_text, controller_container, minimal_values, objects, pod_spec, render
from helm_python import HelmError

from controller.settings import load_settings

TOKEN_FILE = "/var/run/secrets/dws-rebalancer/approval/token"


def api_values(**approval_api: Any) -> dict[str, Any]:
    values = minimal_values(approvalApi={"existingSecret": "dws-approval", **approval_api})
    values["config"]["approval_api"] = {"enabled": True}
    return values


def test_the_token_secret_is_mounted_where_the_config_points() -> None:
    objs = objects(render(api_values(secretKey="bearer")))
    [volume] = [v for v in pod_spec(objs)["volumes"] if v["name"] == "approval-token"]
    assert volume["secret"] == {
        "secretName": "dws-approval",
        "defaultMode": 0o440,
        "items": [{"key": "bearer", "path": "token"}],
    }
    [mount] = [
        m for m in controller_container(objs)["volumeMounts"] if m["name"] == "approval-token"
    ]
    assert mount == {
        "name": "approval-token",
        "mountPath": str(Path(TOKEN_FILE).parent),
        "readOnly": True,
    }
    config = yaml.safe_load(config_text(objs))
    assert config["approval_api"] == {"enabled": True, "token_file": TOKEN_FILE}
    assert "token" not in config["approval_api"]  # the token itself never reaches the ConfigMap


def test_the_api_off_mounts_nothing_even_with_a_secret_named() -> None:
    values = minimal_values(approvalApi={"existingSecret": "dws-approval"})
    objs = objects(render(values))
    assert "approval-token" not in {v["name"] for v in pod_spec(objs)["volumes"]}
    assert yaml.safe_load(config_text(objs))["approval_api"] == {"enabled": False}


def test_the_api_on_without_a_token_fails_the_install() -> None:
    values = minimal_values()
    values["config"]["approval_api"] = {"enabled": True}
    with pytest.raises(
        HelmError, match=r"config\.approval_api\.enabled needs approvalApi\.existingSecret"
    ):
        render(values)


def test_a_token_file_of_ones_own_is_kept() -> None:
    values = minimal_values(extraVolumes=[{"name": "mine", "secret": {"secretName": "mine"}}])
    values["config"]["approval_api"] = {"enabled": True, "token_file": "/mine/token"}
    objs = objects(render(values))
    assert yaml.safe_load(config_text(objs))["approval_api"]["token_file"] == "/mine/token"
    assert "approval-token" not in {v["name"] for v in pod_spec(objs)["volumes"]}


def test_the_rendered_config_is_accepted_by_the_controller(tmp_path: Path) -> None:
    local = tmp_path / "config.yaml"
    local.write_text(config_text(objects(render(api_values()))), encoding="utf-8")
    env = {"DWS_REBALANCER_AUTH__AK": "placeholder-ak", "DWS_REBALANCER_AUTH__SK": "placeholder-sk"}
    settings = load_settings(local, env)
    assert settings.approval_api.enabled
    assert settings.approval_api.token_file == Path(TOKEN_FILE)
