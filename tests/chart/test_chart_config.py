"""The rendered config file is accepted by the controller's own loader, and the chart keeps up with its settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import CHART_DIR, config_text, controller_container, minimal_values, objects, render
from helm_python import HelmValuesError
from pydantic import BaseModel

from controller.settings import (
    Blackout,
    ClusterSelection,
    OptOutTag,
    Override,
    Policy,
    ProbeSettings,
    Settings,
    Window,
    load_settings,
)

#: Config keys the chart sets itself (or passes as environment) instead of taking them from `config`.
CHART_OWNED = {"auth", "listen", "journal_path"}
#: Chart defaults that differ from the controller's on purpose.
DIFFERENT_ON_PURPOSE = {
    "endpoint": "derived from config.region",
    "listen": "the container port",
    "journal_path": "on the journal volume",
    "log_format": "json: pods log to a collector, not a terminal",
    "auth": "files in the mounted Secret (re-read on rotation), not inline values",
}


def _load_as_the_pod_would(objs: list[dict[str, Any]], tmp_path: Path) -> Settings:
    """The pod's environment (secrets replaced by placeholders) + the mounted config file."""
    container = controller_container(objs)
    environ = {}
    for var in container["env"]:
        if "value" in var:
            environ[var["name"]] = var["value"]
        elif "fieldRef" in var["valueFrom"]:  # the downward API: the first pod's name
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
            environ[var["name"]] = "rb-dws-rebalancer-0"
        else:
            environ[var["name"]] = "placeholder-" + var["valueFrom"]["secretKeyRef"]["key"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    config_path = Path(environ["DWS_REBALANCER_CONFIG"])
    assert config_path.parent == Path(mount["mountPath"])
    local = tmp_path / config_path.name
    local.write_text(config_text(objs), encoding="utf-8")
    return load_settings(None, {**environ, "DWS_REBALANCER_CONFIG": str(local)})


def test_rendered_config_is_accepted_by_the_controller(
    ci_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    settings = _load_as_the_pod_would(ci_objects, tmp_path)
    container = controller_container(ci_objects)
    journal = next(m for m in container["volumeMounts"] if m["name"] == "journal")
    assert settings.journal_path.parent == Path(journal["mountPath"])
    assert settings.listen_port == container["ports"][0]["containerPort"]
    assert "auth" not in yaml.safe_load(config_text(ci_objects))


@pytest.mark.parametrize(
    ("values_file", "expected"),
    [
        (
            "dry-run-values.yaml",
            {"dry_run": True, "windows": 2, "overrides": 2, "auth": "password"},
        ),
        (
            "no-persistence-values.yaml",
            {"dry_run": False, "windows": 1, "overrides": 0, "auth": "token"},
        ),
    ],
)
def test_ci_set_arrives_in_the_controller(
    values_file: str, expected: dict[str, Any], tmp_path: Path
) -> None:
    values = yaml.safe_load((CHART_DIR / "ci" / values_file).read_text())
    settings = _load_as_the_pod_would(objects(render(values)), tmp_path)
    actual = {
        "dry_run": settings.dry_run,
        "windows": len(settings.policy.windows),
        "overrides": len(settings.overrides),
        "auth": settings.auth.method,
    }
    assert actual == expected


def test_chart_defaults_are_the_controller_defaults(tmp_path: Path) -> None:
    chart = _load_as_the_pod_would(objects(render(minimal_values())), tmp_path)
    bare = load_settings(
        None,
        {
            "DWS_REBALANCER_ENDPOINT": chart.endpoint,
            "DWS_REBALANCER_PROJECT_ID": chart.project_id,
            "DWS_REBALANCER_AUTH__AK": "placeholder-ak",
            "DWS_REBALANCER_AUTH__SK": "placeholder-sk",
        },
    )
    ours, theirs = (
        json.loads(s.model_dump_json(exclude=set(DIFFERENT_ON_PURPOSE))) for s in (chart, bare)
    )
    assert ours == theirs


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CHART_DIR / "values.schema.json").read_text())
    return schema


@pytest.mark.parametrize(
    ("definition", "model", "chart_owned"),
    [
        ("config", Settings, CHART_OWNED),
        ("policy", Policy, set()),
        ("window", Window, set()),
        ("blackout", Blackout, set()),
    ],
)
def test_schema_knows_exactly_the_controllers_keys(
    definition: str, model: type[BaseModel], chart_owned: set[str]
) -> None:
    properties = _schema()["definitions"][definition]["properties"]
    assert set(properties) == set(model.model_fields) - chart_owned


def test_schema_knows_the_cluster_selection_keys() -> None:
    clusters = _schema()["definitions"]["config"]["properties"]["clusters"]
    assert set(clusters["properties"]) == set(ClusterSelection.model_fields)
    tag = next(o for o in clusters["properties"]["opt_out_tag"]["oneOf"] if o["type"] == "object")
    assert set(tag["properties"]) == set(OptOutTag.model_fields)


def test_schema_knows_the_override_keys() -> None:
    override = _schema()["definitions"]["config"]["properties"]["overrides"]["items"]
    assert set(override["properties"]) == set(Override.model_fields)


def test_schema_knows_the_probe_keys_but_an_inline_password() -> None:
    # an inline probe password would land in the ConfigMap: password_file from a mounted Secret
    probe = _schema()["definitions"]["switchoverProbe"]["properties"]
    assert set(probe) == set(ProbeSettings.model_fields) - {"password"}


def test_a_probe_reading_its_password_from_a_mounted_secret_loads(tmp_path: Path) -> None:
    probe = {"enabled": True, "user": "probe", "password_file": "/etc/dws-probe/password"}
    values = minimal_values(config={"policy": {"probe": probe}})
    settings = _load_as_the_pod_would(objects(render(values)), tmp_path)
    assert settings.policy.probe.enabled
    assert str(settings.policy.probe.password_file) == probe["password_file"]
    with pytest.raises(HelmValuesError, match="at '/config/policy/probe'"):
        render(minimal_values(config={"policy": {"probe": {**probe, "password": "inline"}}}))
