"""The dashboard ConfigMap holds the dashboard file byte for byte; the PrometheusRule holds the rules file's groups."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from chartkit import CHART_DIR, FULLNAME, find, minimal_values, objects, render

DASHBOARD = CHART_DIR / "dashboards" / "dws-rebalancer.json"
RULES = CHART_DIR / "rules" / "dws-rebalancer.rules.yaml"


def _dashboard_config_map(**dashboards: Any) -> dict[str, Any]:
    return find(
        objects(render(minimal_values(dashboards={"enabled": True, **dashboards}))),
        "ConfigMap",
        f"{FULLNAME}-dashboard",
    )


def test_dashboard_config_map_equals_the_dashboard_file() -> None:
    data = _dashboard_config_map()["data"]
    assert data == {"dws-rebalancer.json": DASHBOARD.read_text(encoding="utf-8")}
    json.loads(data["dws-rebalancer.json"])


def test_dashboard_is_labelled_for_the_grafana_sidecar() -> None:
    config_map = _dashboard_config_map(
        labels={"team": "dba"}, folder="Databases", namespace="grafana"
    )
    metadata = config_map["metadata"]
    assert metadata["labels"]["grafana_dashboard"] == "1"
    assert metadata["labels"]["team"] == "dba"
    assert metadata["annotations"] == {"grafana_folder": "Databases"}
    assert metadata["namespace"] == "grafana"


@pytest.mark.parametrize(
    ("dashboards", "expected"),
    [
        (
            {"folder": "Ops", "folderAnnotation": "k8s-sidecar-target-directory"},
            {"k8s-sidecar-target-directory": "Ops"},
        ),
        ({"annotations": {"a": "b"}}, {"a": "b"}),
        ({}, None),
    ],
    ids=["custom-folder-annotation", "extra-annotations", "none"],
)
def test_dashboard_annotations(dashboards: dict[str, Any], expected: dict[str, str] | None) -> None:
    assert _dashboard_config_map(**dashboards)["metadata"].get("annotations") == expected


def test_no_dashboard_unless_enabled() -> None:
    names = {
        o["metadata"]["name"] for o in objects(render(minimal_values())) if o["kind"] == "ConfigMap"
    }
    assert names == {FULLNAME}


def test_prometheus_rule_renders_every_rule_of_the_rules_file() -> None:
    source = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    rule = find(objects(render(minimal_values(prometheusRule={"enabled": True}))), "PrometheusRule")
    rendered = rule["spec"]["groups"]
    assert [g["name"] for g in rendered] == [g["name"] for g in source]
    for ours, theirs in zip(rendered, source, strict=True):
        assert [r["alert"] for r in ours["rules"]] == [r["alert"] for r in theirs["rules"]]
        for got, written in zip(ours["rules"], theirs["rules"], strict=True):
            assert got["labels"] == written["labels"]
            assert written["annotations"].items() <= got["annotations"].items()
            assert "{{ ." not in got["expr"]  # every Helm placeholder filled in


@pytest.mark.parametrize(
    ("dashboards", "key", "value"),
    [
        ({}, "grafana_dashboard", "1"),
        ({"label": "grafana.io/dashboard", "labelValue": "dba"}, "grafana.io/dashboard", "dba"),
    ],
    ids=["sidecar-default", "custom"],
)
def test_dashboard_sidecar_label_is_configurable(
    dashboards: dict[str, Any], key: str, value: str
) -> None:
    labels = _dashboard_config_map(**dashboards)["metadata"]["labels"]
    assert labels[key] == value
    assert ("grafana_dashboard" in labels) == (key == "grafana_dashboard")
