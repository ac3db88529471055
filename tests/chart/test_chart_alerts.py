"""The rendered PrometheusRule: promtool checks and unit-tests it (two controllers at once); its values do what they say."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import ROOT, find, minimal_values, objects, render
from pydantic import TypeAdapter

from controller.config_types import NonNegativeDuration

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
UNIT_TESTS = Path(__file__).resolve().parent / "rules"
LINKS = {
    "runbookUrlBase": "https://wiki.example.com/runbooks",
    "runbookUrlSuffix": "",
    "grafanaUrl": "https://grafana.example.com",
    "additionalRuleLabels": {"team": "dba"},
}
#: unit test file -> (prometheusRule values it was written for, whether annotations are kept)
UNIT_TEST_VALUES: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "alerts.test.yaml": ({}, {}, False),
    "daily.test.yaml": ({}, {}, False),
    "slow-poll.test.yaml": ({}, {"poll_interval": "20m"}, False),
    "annotations.test.yaml": (LINKS, {}, True),
}
ALERT_NAMES = [
    "DwsRebalancerDown",
    "DwsRebalancerNotCycling",
    "DwsRebalancerCycleErrors",
    "DwsRebalancerClusterUnbalancedTooLong",
    "DwsRebalancerSwitchoverFailed",
    "DwsRebalancerLongInterruption",
    "DwsRebalancerBreakerOpen",
    "DwsRebalancerHeldByLoad",
    "DwsRebalancerApiErrors",
    "DwsRebalancerApiAuthFailures",
    "DwsRebalancerPausedTooLong",
    "DwsRebalancerNotificationsFailing",
]


def rule_object(prometheus_rule: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    merged = minimal_values(prometheusRule={"enabled": True, **(prometheus_rule or {})}, **values)
    return find(objects(render(merged)), "PrometheusRule")


def alerts(prometheus_rule: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    """Alert name -> its rendered rule."""
    groups = rule_object(prometheus_rule, **values)["spec"]["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def write_rule_file(path: Path, groups: list[dict[str, Any]], *, annotations: bool) -> None:
    if not annotations:
        groups = [
            {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
            for g in groups
        ]
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _stage(name: str, tmp_path: Path, mutate: bool = False) -> Path:
    """The unit test file in its own directory, next to the rules rendered for it."""
    prometheus_rule, config, keep = UNIT_TEST_VALUES[name]
    groups = rule_object(prometheus_rule, config=config)["spec"]["groups"]
    if mutate:  # every alert made impossible: each firing case must then fail
        for rule in (r for g in groups for r in g["rules"]):
            rule["expr"] = "vector(0) > 1"
    directory = tmp_path / name.removesuffix(".test.yaml")
    directory.mkdir()
    write_rule_file(directory / "rules.yaml", groups, annotations=keep)
    shutil.copy(UNIT_TESTS / name, directory / name)
    return directory / name


def test_every_unit_test_file_is_run() -> None:
    assert {p.name for p in UNIT_TESTS.glob("*.test.yaml")} == set(UNIT_TEST_VALUES)


def test_the_rendered_alerts_are_the_known_ones() -> None:
    assert list(alerts()) == ALERT_NAMES


@needs_promtool
@pytest.mark.parametrize(
    "values",
    [{}, {"prometheusRule": {"jobs": ["a", "b.c"]}, "config": {"poll_interval": "PT20M"}}],
    ids=["defaults", "two-jobs-slow-poll"],
)
def test_promtool_check_rules(values: dict[str, Any], tmp_path: Path) -> None:
    rule = rule_object(values.get("prometheusRule"), config=values.get("config", {}))
    path = tmp_path / "rules.yaml"
    write_rule_file(path, rule["spec"]["groups"], annotations=True)
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in result.stdout


@needs_promtool
@pytest.mark.parametrize("name", sorted(UNIT_TEST_VALUES))
def test_promtool_unit_tests_pass(name: str, tmp_path: Path) -> None:
    result = promtool("test", "rules", str(_stage(name, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


def _cases() -> list[dict[str, Any]]:
    return [
        case
        for name in UNIT_TEST_VALUES
        for test in yaml.safe_load((UNIT_TESTS / name).read_text(encoding="utf-8"))["tests"]
        for case in test["alert_rule_test"]
    ]


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    seen: dict[str, set[bool]] = {name: set() for name in ALERT_NAMES}
    for case in _cases():
        seen[case["alertname"]].add(bool(case["exp_alerts"]))
    assert {name: s for name, s in seen.items() if s != {True, False}} == {}


def test_every_expected_alert_keeps_namespace_and_job() -> None:
    # promtool compares label sets exactly, so these labels are what the alerts really carry
    expected = [alert["exp_labels"] for case in _cases() for alert in case["exp_alerts"]]
    assert expected
    assert [labels for labels in expected if not {"namespace", "job"} <= set(labels)] == []


@needs_promtool
def test_the_unit_tests_catch_an_alert_that_never_fires(tmp_path: Path) -> None:
    failed: set[str] = set()
    for name in UNIT_TEST_VALUES:
        result = promtool("test", "rules", str(_stage(name, tmp_path, mutate=True)))
        assert result.returncode != 0, name
        failed |= set(re.findall(r"alertname: (\w+),", result.stdout + result.stderr))
    assert failed == set(ALERT_NAMES)


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_alert_follows_the_mixin_conventions(name: str) -> None:
    rule = alerts()[name]
    assert re.fullmatch(r"DwsRebalancer(?:[A-Z][a-z0-9]+)+", name)
    assert rule["labels"]["severity"] in ("critical", "warning", "info")
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url", "dashboard_url"}
    assert rule["annotations"]["runbook_url"] == (
        f"https://github.com/dws-rebalancer/dws-rebalancer/blob/main/docs/runbooks/{name}.md"
    )
    assert (ROOT / "docs" / "runbooks" / f"{name}.md").is_file(), "the runbook_url's page"
    assert rule["annotations"]["dashboard_url"].startswith("/d/dws-rebalancer/dws-rebalancer?")
    assert 'job=~"dws-rebalancer",namespace="dws"' in rule["expr"]


def test_down_has_one_absent_per_job() -> None:
    expr = alerts({"jobs": ["dws-rebalancer", "dws.canary"]})["DwsRebalancerDown"]["expr"]
    assert expr.splitlines() == [
        'up{job=~"dws-rebalancer|dws\\\\.canary",namespace="dws"} == 0',
        'or absent(up{job="dws-rebalancer",namespace="dws"})',
        'or absent(up{job="dws.canary",namespace="dws"})',
    ]


def test_the_job_follows_name_override_and_the_namespace_the_release() -> None:
    rule = alerts(nameOverride="rebalancer", namespaceOverride="ops")["DwsRebalancerBreakerOpen"]
    assert rule["expr"] == 'dws_rebalancer_breaker_open{job=~"rebalancer",namespace="ops"} == 1'


def _threshold(expr: str) -> float:
    return float(re.search(r"> ([0-9.e+]+)$", expr).group(1))  # type: ignore[union-attr]


# Every duration form values.schema.json lets through for poll_interval (at least 1 s).
POLL_INTERVALS: list[object] = [
    *("1m", "90s", "20m", "1h30m", "1w2d", "1d2h3m4s500ms", "1.5h", "1s500ms", " 10m ", "10 m"),
    *("1h 30m", "30", "30.5", "PT10M", "pt10m", "PT10m", "P1D", "P1DT2H", "PT1.5S", "P1DT"),
    *(" PT10M ", 30, 1.5, 3600, "3650d"),
]


@pytest.mark.parametrize("poll", POLL_INTERVALS, ids=repr)
def test_not_cycling_threshold_is_three_polls_and_at_least_15_minutes(poll: object) -> None:
    seconds = TypeAdapter(NonNegativeDuration).validate_python(poll).total_seconds()
    expr = alerts(config={"poll_interval": poll})["DwsRebalancerNotCycling"]["expr"]
    assert _threshold(expr) == pytest.approx(max(900, 3 * seconds))


@pytest.mark.parametrize(
    ("name", "threshold", "expected"),
    [
        ("DwsRebalancerNotCycling", "2h", "> 7200"),
        ("DwsRebalancerClusterUnbalancedTooLong", "P2D", "> 172800"),
        ("DwsRebalancerApiErrors", 0.5, "> 0.5"),
        ("DwsRebalancerLongInterruption", 600, 'le=~"600(\\\\.0)?"'),
    ],
)
def test_a_threshold_value_reaches_the_expression(
    name: str, threshold: object, expected: str
) -> None:
    rule = alerts({"alerts": {name: {"threshold": threshold}}})[name]
    assert expected in rule["expr"]


def test_for_disabled_and_labels_are_per_alert() -> None:
    rendered = alerts(
        {
            "alerts": {
                "DwsRebalancerPausedTooLong": {"disabled": True},
                "DwsRebalancerBreakerOpen": {"for": "1h"},
                "DwsRebalancerSwitchoverFailed": {"for": ""},
            },
            "additionalRuleLabels": {"team": "dba", "severity": "page-me"},
        }
    )
    assert "DwsRebalancerPausedTooLong" not in rendered
    assert rendered["DwsRebalancerBreakerOpen"]["for"] == "1h"
    assert rendered["DwsRebalancerDown"]["for"] == "5m"
    assert "for" not in rendered["DwsRebalancerSwitchoverFailed"]
    # the team label everywhere; an alert's own severity is never overridden
    assert {r["labels"]["team"] for r in rendered.values()} == {"dba"}
    assert rendered["DwsRebalancerDown"]["labels"]["severity"] == "critical"


def test_all_alerts_disabled_renders_no_group() -> None:
    disabled = {name: {"disabled": True} for name in ALERT_NAMES}
    assert rule_object({"alerts": disabled})["spec"]["groups"] == []


def test_rule_namespace_and_labels() -> None:
    rule = rule_object({"namespace": "monitoring", "additionalLabels": {"release": "kps"}})
    assert rule["metadata"]["namespace"] == "monitoring"
    assert rule["metadata"]["labels"]["release"] == "kps"
    # the alerts still watch the release namespace, where the controller runs
    assert 'namespace="dws"' in rule["spec"]["groups"][0]["rules"][0]["expr"]
