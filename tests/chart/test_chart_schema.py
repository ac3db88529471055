"""values.schema.json: draft-07, accepts the shipped values, rejects known-bad ones at the right place; README covers every value."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from chartkit import (
    CHART_DIR,
    CI_VALUES,
    chart,
    ci_values,
    config_text,
    minimal_values,
    objects,
    render,
)
from helm_python import HelmValuesError
from pydantic import TypeAdapter, ValidationError

from controller.config_types import NonNegativeDuration
from controller.settings import ConfigError, Settings, load_settings

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


# The schema's duration grammar must be the controller's: a value the chart accepts and the pod
# refuses fails at startup, one the chart refuses and the controller reads blocks a valid install.
# The verdict is NonNegativeDuration's (parse_duration, then not negative), the loosest type of
# any duration in the config: the schema refuses negative numbers, which no field accepts.
DURATIONS: list[object] = [
    *("90s", "10m", "6h", "1d", "1w", "500ms", "1h30m", "1w2d", "1d2h3m4s500ms", "1s500ms"),
    *("1.5h", "0.5s", "0s", "30", "30.5", "0", " 10m ", "10 m", "1h 30m", "\t90s\n", "3650d"),
    *("PT10M", "pt10m", "PT10m", "P1D", "P1DT2H", "PT1.5S", "P1DT", " PT10M "),
    *(30, 0, 1.5, 315360000, 315360001, -1, -0.5, True, False),
    *("", " ", "soon", "P", "PT", "pt", " PT ", "30m1h", "1h1h", "500ms1s", "1s1s"),
    *("10M", "1H", "1S", "-5", "-5s", "1y", ".5s", "5.s", "1e3", "10min", "1h30"),
    *("1m s", "P1W", "PT 10M", "P1H", "PT1D", "30 s ago", "1,5h", "ms", "s10"),
]


def _controller_verdict(value: object) -> bool:
    try:
        TypeAdapter(NonNegativeDuration).validate_python(value)
    except ValidationError:
        return False
    return True


def _helm_errors(value: object) -> str:
    """Helm's schema errors for `value` as a duration field; empty when Helm accepts it."""
    try:
        chart().validate_schema(minimal_values(config={"switchover_timeout": value}))
    except HelmValuesError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("value", DURATIONS, ids=repr)
def test_schema_duration_is_the_controllers_duration(value: object) -> None:
    controller = _controller_verdict(value)
    # Helm matches patterns with Go's regexp, the jsonschema library with Python's: both must agree
    validator = jsonschema.Draft7Validator(SCHEMA["definitions"]["duration"])
    assert validator.is_valid(value) is controller
    helm = _helm_errors(value)
    assert (helm == "") is controller
    assert not helm or "at '/config/switchover_timeout'" in helm


def test_duration_table_covers_both_verdicts() -> None:
    verdicts = [_controller_verdict(v) for v in DURATIONS]
    assert verdicts.count(True) >= 20
    assert verdicts.count(False) >= 20


@pytest.mark.parametrize(
    ("key", "too_small", "smallest"),
    [("poll_interval", 0.99, 1), ("tracking_interval", 0.4, 0.5)],
)
def test_schema_refuses_intervals_below_the_controllers_minimum(
    key: str, too_small: float, smallest: float
) -> None:
    chart().validate_schema(minimal_values(config={key: smallest}))
    with pytest.raises(HelmValuesError) as caught:
        chart().validate_schema(minimal_values(config={key: too_small}))
    assert f"at '/config/{key}'" in str(caught.value)


def _load_rendered(config: dict[str, Any], tmp_path: Path) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(objects(render(minimal_values(config=config)))), encoding="utf-8")
    environ = {"DWS_REBALANCER_AUTH__AK": "placeholder-ak", "DWS_REBALANCER_AUTH__SK": "p-sk"}
    return load_settings(path, environ)


@pytest.mark.parametrize(
    ("config", "fine", "field"),
    [
        ({"poll_interval": "999ms"}, {"poll_interval": "1s"}, "poll_interval"),
        ({"tracking_interval": "0.4s"}, {"tracking_interval": "500ms"}, "tracking_interval"),
        ({"policy": {"cooldown": "3651d"}}, {"policy": {"cooldown": "3650d"}}, "cooldown"),
    ],
)
def test_string_the_schema_cannot_range_check_is_refused_by_the_controller(
    config: dict[str, Any], fine: dict[str, Any], field: str, tmp_path: Path
) -> None:
    # A regex cannot compare string durations, so these pass the schema and the chart renders;
    # the pod then refuses to start with one line naming the field, never a wrong interval
    _load_rendered(fine, tmp_path)
    with pytest.raises(ConfigError, match=field):
        _load_rendered(config, tmp_path)
