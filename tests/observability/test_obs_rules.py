"""Alert rules: promtool checks them, promtool unit tests cover every alert both ways, conventions."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RULES
from prom import PROMTOOL, promtool

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")

HERE = Path(__file__).resolve().parent
UNIT_TESTS = sorted((HERE / "rules").glob("*.test.yaml"))
DOCS = HERE.parents[1] / "README.md"
RUNBOOK_BASE = "https://github.com/dws-rebalancer/dws-rebalancer/blob/main/README.md#"
ALERTS: list[dict[str, Any]] = [
    rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
]
NAMES = [a["alert"] for a in ALERTS]


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", *map(str, UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    cases: dict[str, set[bool]] = {name: set() for name in NAMES}
    for path in UNIT_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases[case["alertname"]].add(bool(case.get("exp_alerts")))
    assert {name: seen for name, seen in cases.items() if seen != {True, False}} == {}


def test_unit_tests_catch_an_alert_that_never_fires(tmp_path: Path) -> None:
    """Mutation check: with every expression replaced by one that is never true, each alert's
    firing case must fail, so the unit tests cannot pass vacuously."""
    mutated = yaml.safe_load(RULES.read_text())
    for group in mutated["groups"]:
        for rule in group["rules"]:
            rule["expr"] = "vector(0) > 1"
    rules_dir = tmp_path / "charts/dws-rebalancer/rules"
    rules_dir.mkdir(parents=True)
    (rules_dir / RULES.name).write_text(yaml.safe_dump(mutated))
    tests_dir = tmp_path / "tests/observability/rules"
    tests_dir.mkdir(parents=True)
    for path in UNIT_TESTS:
        shutil.copy(path, tests_dir)
    result = promtool("test", "rules", *(str(tests_dir / p.name) for p in UNIT_TESTS))
    assert result.returncode != 0
    failed = set(re.findall(r"alertname: (\w+),", result.stdout + result.stderr))
    assert failed == set(NAMES)


@pytest.mark.parametrize("alert", ALERTS, ids=NAMES)
def test_alert_follows_conventions(alert: dict[str, Any]) -> None:
    name = alert["alert"]
    assert re.fullmatch(r"DwsRebalancer(?:[A-Z][a-z0-9]+)+", name)
    assert alert["labels"]["severity"] in ("critical", "warning", "info")
    annotations = alert["annotations"]
    assert set(annotations) >= {"summary", "description", "runbook_url"}
    assert annotations["runbook_url"] == RUNBOOK_BASE + "alert-" + name.lower()
    assert f"Alert: {name}" in DOCS.read_text()  # the heading GitHub turns into that anchor
