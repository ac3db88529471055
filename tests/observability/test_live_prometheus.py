"""A real Prometheus scrapes the controller's /metrics through a scenario: scrape, data and alerts."""

from __future__ import annotations

import httpx
import pytest
import yaml
from conftest import RULES, MetricsTarget, ScenarioWindow
from obskit import SCENARIO_EXPECTATIONS, finite_values
from prom import PROMTOOL, Prometheus, promtool
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

pytestmark = pytest.mark.e2e


def test_target_is_scraped_without_errors(prometheus: Prometheus, scenario: ScenarioWindow) -> None:
    (target,) = prometheus.targets()
    assert target["health"] == "up", target["lastError"]
    assert target["lastError"] == ""


@pytest.mark.parametrize("expr", SCENARIO_EXPECTATIONS)
def test_scenario_is_visible_in_prometheus(
    prometheus: Prometheus, scenario: ScenarioWindow, expr: str
) -> None:
    assert finite_values(prometheus.query(expr)), expr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_check_metrics_passes_on_a_scrape(
    metrics_target: MetricsTarget, scenario: ScenarioWindow
) -> None:
    exposition = httpx.get(f"http://{metrics_target.address}/metrics").text
    assert "dws_rebalancer_interruption_seconds_bucket" in exposition
    result = promtool("check", "metrics", stdin=exposition)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout  # no lint warnings either


def test_openmetrics_scrape_parses_strictly(
    metrics_target: MetricsTarget, scenario: ScenarioWindow
) -> None:
    # promtool 2.42 lints only the text format; Prometheus itself scrapes OpenMetrics (above).
    accept = "application/openmetrics-text; version=1.0.0"
    exposition = httpx.get(
        f"http://{metrics_target.address}/metrics", headers={"Accept": accept}
    ).text
    families = {f.name: f.type for f in openmetrics_families(exposition)}
    assert families["dws_rebalancer_switchovers"] == "counter"
    assert families["dws_rebalancer_interruption_seconds"] == "histogram"


def test_every_rule_evaluates_on_live_data(
    prometheus: Prometheus, scenario: ScenarioWindow
) -> None:
    expected = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    rules = prometheus.rules()
    assert {r["name"] for r in rules} == expected
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))


def test_scenario_fires_the_switchover_alerts(
    prometheus: Prometheus, metrics_target: MetricsTarget, scenario: ScenarioWindow
) -> None:
    for alert, clusters in metrics_target.alerts.items():
        firing = prometheus.wait_for(f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
        assert {a["metric"]["dws_cluster"] for a in firing} == clusters, alert


def test_successful_switchover_fires_no_alert(
    prometheus: Prometheus, metrics_target: MetricsTarget, scenario: ScenarioWindow
) -> None:
    prometheus.wait_for('ALERTS{alertname="DwsRebalancerSwitchoverFailed"}')
    assert prometheus.query(f'ALERTS{{dws_cluster="{metrics_target.quiet_cluster}"}}') == []
