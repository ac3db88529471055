"""The chart takes notification URLs from a Secret: its keys mounted as files the config names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from chartkit import config_text, controller_container, minimal_values, objects, pod_spec, render

from controller.settings import load_settings

DIR = "/var/run/secrets/dws-rebalancer/notify"


def notify_values(**extra: Any) -> dict[str, Any]:
    channels = [
        {"url_file": f"{DIR}/dingtalk", "events": ["failed", "breaker_opened"]},
        {"smn": {"topic_urn": "urn:smn:cn-north-4:p:dws-ops"}},
    ]
    values = minimal_values(notify={"existingSecret": "dws-notify"}, **extra)
    values["config"]["notify"] = {"channels": channels, "language": "zh"}
    return values


def test_the_notify_secret_is_mounted_read_only_where_the_config_points() -> None:
    objs = objects(render(notify_values()))
    [volume] = [v for v in pod_spec(objs)["volumes"] if v["name"] == "notify"]
    assert volume["secret"] == {"secretName": "dws-notify", "defaultMode": 0o440}
    [mount] = [m for m in controller_container(objs)["volumeMounts"] if m["name"] == "notify"]
    assert mount == {"name": "notify", "mountPath": DIR, "readOnly": True}
    config = yaml.safe_load(config_text(objs))
    assert config["notify"]["channels"][0]["url_file"].startswith(mount["mountPath"] + "/")
    assert config["notify"]["language"] == "zh"


def test_no_secret_no_volume() -> None:
    objs = objects(render(minimal_values()))
    assert "notify" not in {v["name"] for v in pod_spec(objs)["volumes"]}
    assert yaml.safe_load(config_text(objs))["notify"]["channels"] == []


def test_the_rendered_channels_are_accepted_by_the_controller(tmp_path: Path) -> None:
    local = tmp_path / "config.yaml"
    local.write_text(config_text(objects(render(notify_values()))), encoding="utf-8")
    env = {"DWS_REBALANCER_AUTH__AK": "placeholder-ak", "DWS_REBALANCER_AUTH__SK": "placeholder-sk"}
    settings = load_settings(local, env)
    assert [c.url_file for c in settings.notify.channels] == [Path(f"{DIR}/dingtalk"), None]
    smn = settings.notify.channels[1].smn
    assert smn is not None
    assert smn.topic_urn == "urn:smn:cn-north-4:p:dws-ops"
