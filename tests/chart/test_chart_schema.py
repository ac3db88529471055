"""values.schema.json: draft-07, accepts the shipped values, rejects known-bad ones at the right place; README covers every value."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from chartkit import CHART_DIR, CI_VALUES, chart, ci_values
from helm_python import HelmValuesError

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
DEFAULTS = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))


def test_schema_is_draft_07() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["additionalProperties"] is False


@pytest.mark.parametrize("path", CI_VALUES, ids=[p.stem for p in CI_VALUES])
def test_shipped_values_pass(path: Any) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(DEFAULTS)
    chart().validate_schema(ci_values(path))


BAD_VALUES = [
    ({"replicaCount": 2}, ""),
    ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"image": {"tag": 1.2}}, "/image/tag"),
    ({"imagePullSecrets": ["swr-pull"]}, "/imagePullSecrets/0"),
    ({"containerPort": "9108"}, "/containerPort"),
    ({"containerPort": 70000}, "/containerPort"),
    ({"service": {"type": "Ingress"}}, "/service/type"),
    ({"persistence": {"enabled": "yes"}}, "/persistence/enabled"),
    ({"persistence": {"accessModes": ["ReadWriteSometimes"]}}, "/persistence/accessModes/0"),
    ({"persistence": {"size": "lots"}}, "/persistence/size"),
    ({"serviceMonitor": {"interval": "30 seconds"}}, "/serviceMonitor/interval"),
    (
        {"serviceMonitor": {"additionalLabels": {"release": 1}}},
        "/serviceMonitor/additionalLabels/release",
    ),
    ({"prometheusRule": {"rules": []}}, "/prometheusRule"),
    ({"dashboards": {"enabled": 1}}, "/dashboards/enabled"),
    ({"auth": {"accessKey": "x"}}, "/auth"),
    ({"auth": {"iamEndpoint": "iam.example.com"}}, "/auth/iamEndpoint"),
    ({"livenessProbe": {"httpGet": {"path": "/"}}}, "/livenessProbe"),
    ({"networkPolicy": {"metricsFrom": "monitoring"}}, "/networkPolicy/metricsFrom"),
    ({"extraEnv": [{"value": "x"}]}, "/extraEnv/0"),
    ({"config": {"auth": {"ak": "x"}}}, "/config"),
    ({"config": {"listen": "0.0.0.0:1"}}, "/config"),
    ({"config": {"endpoint": "dws.example.com"}}, "/config/endpoint"),
    ({"config": {"enterprise_project_id": 0}}, "/config/enterprise_project_id"),
    ({"config": {"dry_run": "yes"}}, "/config/dry_run"),
    ({"config": {"log_level": "verbose"}}, "/config/log_level"),
    ({"config": {"poll_interval": "soon"}}, "/config/poll_interval"),
    ({"config": {"clusters": {"include": "prod-*"}}}, "/config/clusters/include"),
    ({"config": {"policy": {"cooldown_period": "1h"}}}, "/config/policy"),
    ({"config": {"policy": {"max_concurrent": 0}}}, "/config/policy/max_concurrent"),
    ({"config": {"policy": {"min_version": "8.1"}}}, "/config/policy/min_version"),
    (
        {"config": {"policy": {"windows": [{"start": 100, "end": "05:00"}]}}},
        "/config/policy/windows/0/start",
    ),
    (
        {
            "config": {
                "policy": {"windows": [{"days": ["Funday"], "start": "01:00", "end": "02:00"}]}
            }
        },
        "/config/policy/windows/0/days/0",
    ),
    ({"config": {"policy": {"windows": [{"start": "01:00"}]}}}, "/config/policy/windows/0"),
    (
        {"config": {"policy": {"blackouts": [{"start": "2026-12-20", "end": "2027-01-04"}]}}},
        "/config/policy/blackouts/0/start",
    ),
    ({"config": {"overrides": [{"match": "prod-*"}]}}, "/config/overrides/0"),
    (
        {"config": {"overrides": [{"match": "prod-*", "policy": {"windowz": []}}]}},
        "/config/overrides/0/policy",
    ),
]


@pytest.mark.parametrize(
    ("values", "where"), BAD_VALUES, ids=[w or "top-level" for _, w in BAD_VALUES]
)
def test_known_bad_values_are_rejected_where_they_are(values: dict[str, Any], where: str) -> None:
    with pytest.raises(HelmValuesError) as caught:
        chart().validate_schema(values)
    assert f"at '{where}'" in str(caught.value)


def _value_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Every documented value: leaves, plus maps that are empty by default (users fill them)."""
    paths = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.extend(_value_paths(value, f"{path}."))
        else:
            paths.append(path)
    return paths


def test_readme_documents_every_value() -> None:
    readme = (CHART_DIR / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, re.MULTILINE))
    assert set(_value_paths(DEFAULTS)) - documented == set()
    assert documented - set(_value_paths(DEFAULTS)) == set(), (
        "README documents values that do not exist"
    )
