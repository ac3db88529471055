"""The Grafana dashboard: kube-prometheus-stack conventions, and every query answered by Prometheus."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest
from conftest import DASHBOARD, ScenarioWindow
from obskit import SyntheticController, finite_values
from prom import Prometheus
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from controller.record.metrics import Metrics

BOARD: dict[str, Any] = json.loads(DASHBOARD.read_text())
PANELS = [p for p in BOARD["panels"] if p["type"] != "row"]
ANNOTATIONS = [a for a in BOARD["annotations"]["list"] if not a.get("builtIn")]
#: (where, expr) for every PromQL query in the dashboard.
QUERIES = [(f"{p['title']} [{t['refId']}]", t["expr"]) for p in PANELS for t in p["targets"]] + [
    (f"annotation {a['name']}", a["expr"]) for a in ANNOTATIONS
]
#: What Grafana would put in for the variables, for a Prometheus of our own.
GRAFANA_VARIABLES = {
    "$namespace": ".*",
    "$job": ".+",
    "$instance": ".+",
    "$dws_target": ".*",
    "$dws_cluster": ".+",
    "$__rate_interval": "1m",
    "$__range": "5m",
    "$__interval": "15s",
}
METRIC_RE = re.compile(r"\b(dws_rebalancer_\w+)\b(\{[^}]*\})?")
RANGE_FUNC_RE = re.compile(r"\b(rate|increase)\(")
COUNTERISH_RE = re.compile(r"^dws_rebalancer_\w+(_total|_bucket|_count|_sum)$")


def variable(name: str) -> dict[str, Any]:
    (var,) = [v for v in BOARD["templating"]["list"] if v["name"] == name]
    return var


def substitute(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def enclosing_function(expr: str, position: int) -> str:
    """The name of the innermost function call around `position` ('' at top level)."""
    code = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: '"' + "_" * (len(m.group()) - 2) + '"', expr)
    depth = 0
    for i in range(position - 1, -1, -1):
        if code[i] == ")":
            depth += 1
        elif code[i] == "(":
            if depth == 0:
                name = re.search(r"([a-z_]*)\s*$", code[:i])
                return name.group(1) if name else ""
            depth -= 1
    return ""


def test_datasource_is_a_variable_not_an_import_input() -> None:
    var = variable("datasource")
    assert (var["type"], var["query"]) == ("datasource", "prometheus")
    assert "__inputs" not in BOARD
    assert "DS_PROMETHEUS" not in DASHBOARD.read_text()


def test_dws_cluster_variable_is_multi_select_from_label_values() -> None:
    var = variable("dws_cluster")
    assert var["type"] == "query"
    assert var["multi"]
    assert var["includeAll"]
    assert re.fullmatch(r"label_values\(dws_rebalancer_\w+\{[^}]*\}, dws_cluster\)", var["query"])
    assert var["datasource"]["uid"] == "${datasource}"


def test_dashboard_identity_is_stable() -> None:
    assert BOARD["uid"] == "dws-rebalancer"
    assert "dws-rebalancer" in BOARD["tags"]
    assert BOARD.get("id") is None  # Grafana assigns ids; a fixed one collides on import


@pytest.mark.parametrize("panel", PANELS, ids=[p["title"] for p in PANELS])
def test_panel_has_description_unit_and_datasource_variable(panel: dict[str, Any]) -> None:
    assert panel["description"].strip()
    assert panel["fieldConfig"]["defaults"]["unit"]
    assert panel["datasource"]["uid"] == "${datasource}"
    assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_panel_ids_are_unique() -> None:
    ids = [p["id"] for p in BOARD["panels"]]
    assert len(ids) == len(set(ids))


def test_required_panels_exist() -> None:
    titles = " | ".join(p["title"].lower() for p in PANELS)
    for words in (
        "clusters by state",
        "why not",
        "switchovers by outcome and trigger",
        "interruption p50 / p95 / max",
        "last switchover per cluster",
        "decisions by reason",
        "load by cluster and metric",
        "load source errors",
        "time since last successful cycle",
        "cycle errors",
        "api requests",
        "api error",
        "api latency",
        "approval state and announced slot per cluster",
        "notifications by channel, event and outcome",
    ):
        assert words in titles
    assert any("switchovers_total" in a["expr"] for a in ANNOTATIONS)


@pytest.mark.parametrize(("where", "expr"), QUERIES, ids=[w for w, _ in QUERIES])
def test_counters_only_inside_rate_or_increase_over_grafana_intervals(
    where: str, expr: str
) -> None:
    for match in RANGE_FUNC_RE.finditer(expr):
        closing = expr.index(")", expr.index("]", match.end()))
        window = expr[expr.index("[", match.end()) : closing]
        assert window in ("[$__rate_interval]", "[$__range]"), (where, window)
    for match in METRIC_RE.finditer(expr):
        if COUNTERISH_RE.match(match.group(1)):
            assert enclosing_function(expr, match.start()) in ("rate", "increase"), (where, expr)


@pytest.mark.parametrize(("where", "expr"), QUERIES, ids=[w for w, _ in QUERIES])
def test_per_cluster_metrics_follow_the_cluster_variable(where: str, expr: str) -> None:
    per_cluster = {s.name for s in scraped_samples() if "dws_cluster" in s.labels}
    for match in METRIC_RE.finditer(expr):
        if match.group(1) in per_cluster:
            assert 'dws_cluster=~"$dws_cluster"' in (match.group(2) or ""), (where, expr)


@functools.cache
def scraped_samples() -> tuple[Sample, ...]:
    """The samples of a Metrics driven through the synthetic scenario (every series exists)."""
    metrics = Metrics()
    SyntheticController(metrics).run()
    exposition = generate_latest(metrics.registry).decode()
    return tuple(s for f in text_string_to_metric_families(exposition) for s in f.samples)


def test_every_referenced_metric_exists() -> None:
    referenced = {m.group(1) for _, expr in QUERIES for m in METRIC_RE.finditer(expr)}
    assert referenced, "no dws_rebalancer_* metric referenced"
    missing = referenced - {s.name for s in scraped_samples()}
    assert not missing


@pytest.mark.e2e
@pytest.mark.parametrize(("where", "expr"), QUERIES, ids=[w for w, _ in QUERIES])
def test_query_returns_data_for_the_scenario(
    prometheus: Prometheus, scenario: ScenarioWindow, where: str, expr: str
) -> None:
    result = prometheus.query_range(substitute(expr), scenario.start, scenario.end)
    assert finite_values(result), f"{where}: no data for {substitute(expr)}"


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["namespace", "job", "instance", "dws_cluster"])
def test_variable_query_finds_the_scraped_controller(
    prometheus: Prometheus, scenario: ScenarioWindow, name: str
) -> None:
    # label_values(selector, label) lists the label's values on the series selector matches
    selector, label = re.fullmatch(r"label_values\((.+), (\w+)\)", variable(name)["query"]).groups()  # type: ignore[union-attr]
    found = {
        r["metric"].get(label)
        for r in prometheus.query(f"count by ({label}) ({substitute(selector)})")
    }
    assert found, name
    assert None not in found, (name, found)
