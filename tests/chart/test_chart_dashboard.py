"""The Grafana dashboard against dashboard-linter's rules, with the exclusions of its own `.lint` file."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from chartkit import CHART_DIR

DASHBOARD_DIR = CHART_DIR / "dashboards"
BOARD: dict[str, Any] = json.loads((DASHBOARD_DIR / "dws-rebalancer.json").read_text())
EXCLUSIONS: dict[str, Any] = yaml.safe_load((DASHBOARD_DIR / ".lint").read_text())["exclusions"]
PANELS = [p for p in BOARD["panels"] if p["type"] != "row"]
VARIABLES = {v["name"]: v for v in BOARD["templating"]["list"]}
#: (panel title, expr) of every target, and of the annotation queries.
TARGETS = [(p["title"], t["expr"]) for p in PANELS for t in p["targets"]] + [
    (f"annotation {a['name']}", a["expr"]) for a in BOARD["annotations"]["list"] if "expr" in a
]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: Grafana unit ids the panels may use (a subset of Grafana's list: the ones that fit here).
UNITS = {"short", "none", "s", "ms", "dtdurations", "percentunit", "reqps", "ops", "opm"}
UNITS |= {"dateTimeAsIso", "dateTimeFromNow", "bool", "string"}
SELECTOR_RE = re.compile(r"\b(dws_rebalancer_\w+)\b(\{[^}]*\})?")
RANGE_FUNCTION_RE = re.compile(r"\b(rate|irate|increase)\s*\(")
COUNTER_RE = re.compile(r"^dws_rebalancer_\w+_(total|bucket|count|sum)$")
SCOPE = ('namespace=~"$namespace"', 'job=~"$job"', 'instance=~"$instance"')


def _excluded(rule: str, panel: str) -> bool:
    entries = EXCLUSIONS.get(rule, {}).get("entries", [])
    return any(entry["panel"] == panel for entry in entries)


def test_exclusions_give_a_reason_and_name_existing_panels() -> None:
    titles = {p["title"] for p in PANELS}
    for rule, exclusion in EXCLUSIONS.items():
        assert exclusion["reason"].strip(), rule
        assert {e["panel"] for e in exclusion["entries"]} <= titles, rule


def test_template_datasource_rule() -> None:
    var = VARIABLES["datasource"]
    assert (var["type"], var["query"], var["label"]) == ("datasource", "prometheus", "Data source")
    assert BOARD["templating"]["list"][0] is var  # every other variable depends on it


@pytest.mark.parametrize("name", ["job", "instance"])
def test_template_job_and_instance_rules(name: str) -> None:
    var = VARIABLES[name]
    assert (var["label"], var["type"], var["datasource"]) == (name, "query", DATASOURCE)
    assert var["multi"]
    assert var["includeAll"]
    assert var["allValue"] == ".+"
    assert re.fullmatch(
        rf"label_values\(dws_rebalancer_build_info(\{{[^}}]*\}})?, {name}\)", var["query"]
    )


def test_namespace_variable_also_matches_a_prometheus_without_namespaces() -> None:
    var = VARIABLES["namespace"]
    assert (var["type"], var["datasource"], var["multi"]) == ("query", DATASOURCE, True)
    assert var["allValue"] == ".*"  # matches series without the label (plain Prometheus)


@pytest.mark.parametrize("name", ["namespace", "job", "instance", "dws_cluster"])
def test_template_label_promql_and_reload_on_time_change(name: str) -> None:
    var = VARIABLES[name]
    assert re.fullmatch(r"label_values\(dws_rebalancer_\w+(\{[^}]*\})?, \w+\)", var["query"])
    assert var["definition"] == var["query"]
    assert var["refresh"] == 2  # reload on time range change


def test_variables_narrow_each_other_in_order() -> None:
    assert [v["name"] for v in BOARD["templating"]["list"]] == [
        "datasource",
        "namespace",
        "job",
        "instance",
        "dws_target",
        "dws_cluster",
    ]
    assert '{namespace=~"$namespace"}' in VARIABLES["job"]["query"]
    assert all(m in VARIABLES["instance"]["query"] for m in SCOPE[:2])
    assert all(m in VARIABLES["dws_target"]["query"] for m in SCOPE)
    assert all(m in VARIABLES["dws_cluster"]["query"] for m in SCOPE)
    assert 'dws_target=~"$dws_target"' in VARIABLES["dws_cluster"]["query"]


def test_not_editable_and_in_the_browsers_time_zone() -> None:
    assert BOARD["editable"] is False
    assert BOARD["timezone"] == "browser"


@pytest.mark.parametrize("panel", PANELS, ids=[p["title"] for p in PANELS])
def test_panel_datasource_units_title_and_description(panel: dict[str, Any]) -> None:
    assert panel["datasource"] == DATASOURCE
    assert all(t["datasource"] == DATASOURCE for t in panel["targets"])
    assert panel["title"].strip()
    assert panel["description"].strip()
    assert panel["fieldConfig"]["defaults"]["unit"] in UNITS


@pytest.mark.parametrize(("panel", "expr"), TARGETS, ids=[f"{p} {e[:30]}" for p, e in TARGETS])
def test_target_job_and_instance_rules(panel: str, expr: str) -> None:
    selectors = list(SELECTOR_RE.finditer(expr))
    assert selectors, (panel, expr)
    for match in selectors:
        matchers = match.group(2) or ""
        assert all(m in matchers for m in SCOPE), (panel, match.group())


@pytest.mark.parametrize(("panel", "expr"), TARGETS, ids=[f"{p} {e[:30]}" for p, e in TARGETS])
def test_target_rate_interval_rule(panel: str, expr: str) -> None:
    allowed = {"[$__rate_interval]"}
    if _excluded("target-rate-interval-rule", panel):
        allowed.add("[$__range]")
    for match in RANGE_FUNCTION_RE.finditer(expr):
        start = expr.index("[", match.end())
        assert expr[start : expr.index("]", start) + 1] in allowed, (panel, expr)


def _enclosing_function(expr: str, position: int) -> str:
    """The function whose parentheses directly enclose `position`, '' at the top level."""
    depth = 0
    for i in range(position - 1, -1, -1):
        if expr[i] == ")":
            depth += 1
        elif expr[i] == "(":
            if depth == 0:
                name = re.search(r"(\w*)\s*$", expr[:i])
                return name.group(1) if name else ""
            depth -= 1
    return ""


@pytest.mark.parametrize(("panel", "expr"), TARGETS, ids=[f"{p} {e[:30]}" for p, e in TARGETS])
def test_target_counter_agg_rule(panel: str, expr: str) -> None:
    # label values in quotes may hold parentheses: blank them out first
    code = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: '"' + "_" * (len(m.group()) - 2) + '"', expr)
    for match in SELECTOR_RE.finditer(code):
        if COUNTER_RE.match(match.group(1)):
            assert _enclosing_function(code, match.start()) in ("rate", "irate", "increase"), (
                panel,
                expr,
            )


def test_the_rules_can_fail() -> None:
    # the checks above on known-bad queries, so a broken regex cannot pass everything
    bad = 'sum(dws_rebalancer_switchovers_total{job=~"$job"})'
    assert not all(m in (SELECTOR_RE.search(bad).group(2) or "") for m in SCOPE)  # type: ignore[union-attr]
    assert _enclosing_function(bad, bad.index("dws_")) == "sum"
    assert _excluded("target-rate-interval-rule", "Cycle errors by kind") is False
