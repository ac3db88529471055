"""The chart as chart-testing lints it: a version bump with every change, Chart.yaml fields, maintainers, a schema for every value, a clean package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import CHART_DIR, ROOT, chart
from helm_python import Chart, package

from controller import __version__

CHART_PATH = CHART_DIR.relative_to(ROOT).as_posix()
META: dict[str, Any] = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
#: Chart.yaml fields of apiVersion v2 (helm.sh/docs/topics/charts): nothing else is allowed.
CHART_FIELDS = {
    *("apiVersion", "name", "version", "kubeVersion", "description", "type", "keywords"),
    *("home", "sources", "dependencies", "maintainers", "icon", "appVersion", "deprecated"),
    "annotations",
}


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60, check=False
    )


def _base_ref() -> str:
    """What the chart is compared with: CHART_BASE_REF, the merge base with origin/main, or HEAD."""
    if os.environ.get("CHART_BASE_REF"):
        return os.environ["CHART_BASE_REF"]
    if _git("rev-parse", "--verify", "--quiet", "origin/main").returncode == 0:
        return _git("merge-base", "HEAD", "origin/main").stdout.strip()
    return "HEAD"


def _semver_key(version: str) -> tuple[tuple[int, ...], tuple[int, tuple[Any, ...]]]:
    match = SEMVER.fullmatch(version)
    assert match, f"not a SemVer 2 version: {version!r}"
    core = tuple(int(part) for part in match.groups()[:3])
    pre = match.group(4)
    if pre is None:  # a release sorts after its pre-releases
        return core, (1, ())
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
    return core, (0, ids)


def version_problem(changed: bool, base_version: str | None, version: str) -> str:
    """Why the chart's version does not pass chart-testing's version check ('' when it does)."""
    if not changed or base_version is None:  # untouched, or a chart new since the base
        return ""
    if _semver_key(version) <= _semver_key(base_version):
        return f"the chart changed but its version {version} is not above {base_version}"
    return ""


@pytest.mark.parametrize(
    ("changed", "base", "version", "ok"),
    [
        (True, "0.1.0", "0.2.0", True),
        (True, "0.1.0", "0.1.1", True),
        (True, "0.1.0", "0.1.0", False),
        (True, "0.2.0", "0.1.9", False),
        (True, "0.2.0-rc.1", "0.2.0", True),
        (True, "0.2.0", "0.2.0-rc.1", False),
        (True, "0.2.0-rc.2", "0.2.0-rc.10", True),
        (True, "0.9.0", "0.10.0", True),
        (False, "0.1.0", "0.1.0", True),
        (True, None, "0.1.0", True),
    ],
)
def test_version_check(changed: bool, base: str | None, version: str, ok: bool) -> None:
    assert (version_problem(changed, base, version) == "") is ok


def test_a_changed_chart_has_a_higher_version() -> None:
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git checkout: nothing to compare the chart with")
    base = _base_ref()
    diff = _git("diff", "--quiet", base, "--", CHART_PATH)
    assert diff.returncode in (0, 1), diff.stderr
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", CHART_PATH).stdout
    changed = diff.returncode == 1 or bool(untracked.strip())
    shown = _git("show", f"{base}:{CHART_PATH}/Chart.yaml")
    base_version = yaml.safe_load(shown.stdout)["version"] if shown.returncode == 0 else None
    assert version_problem(changed, base_version, META["version"]) == ""


def test_chart_yaml_fields() -> None:
    assert set(META) <= CHART_FIELDS, set(META) - CHART_FIELDS
    assert META["apiVersion"] == "v2"
    assert META["name"] == CHART_DIR.name
    assert SEMVER.fullmatch(META["version"])
    assert META["appVersion"] == __version__
    assert META["description"].strip()
    assert all(s.startswith("https://") for s in [META["home"], *META["sources"]])


def test_maintainers_have_a_name_and_a_way_to_reach_them() -> None:
    assert META["maintainers"]
    for maintainer in META["maintainers"]:
        assert set(maintainer) <= {"name", "email", "url"}
        assert maintainer["name"].strip()
        assert maintainer.get("email") or maintainer.get("url"), maintainer


def _node(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].removeprefix("#/definitions/")]
    return node


def uncovered(
    schema: dict[str, Any], values: Any, node: dict[str, Any], path: str = ""
) -> list[str]:
    """Value paths the schema has no property for (an open map's keys are its business)."""
    node = _node(schema, node)
    if not isinstance(values, dict) or "properties" not in node:
        return []
    missing = []
    for key, value in values.items():
        if key in node["properties"]:
            missing += uncovered(schema, value, node["properties"][key], f"{path}{key}.")
        elif not isinstance(node.get("additionalProperties"), dict):
            missing.append(f"{path}{key}")
    return missing


def test_the_schema_covers_every_value() -> None:
    schema = chart().schema
    assert isinstance(schema, dict)
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    assert uncovered(schema, defaults, schema) == []
    for path in sorted((CHART_DIR / "ci").glob("*-values.yaml")):
        assert uncovered(schema, yaml.safe_load(path.read_text()), schema) == [], path.name


def test_the_coverage_check_can_fail() -> None:
    schema = chart().schema
    assert isinstance(schema, dict)
    assert uncovered(schema, {"serviceMonitor": {"scrapeEvery": "1m"}}, schema) == [
        "serviceMonitor.scrapeEvery"
    ]
    assert uncovered(schema, {"podLabels": {"any": "key"}}, schema) == []


def test_the_package_holds_the_chart_and_leaves_out_lint_settings(tmp_path: Path) -> None:
    source = tmp_path / "src" / CHART_DIR.name
    shutil.copytree(CHART_DIR, source)
    archive = Path(package(source, destination=tmp_path))
    assert archive.name == f"{META['name']}-{META['version']}.tgz"
    with tarfile.open(archive) as tar:
        names = {n.removeprefix(f"{META['name']}/") for n in tar.getnames()}
    assert {"Chart.yaml", "values.schema.json", "dashboards/dws-rebalancer.json"} <= names
    assert "rules/dws-rebalancer.rules.yaml" in names
    assert "dashboards/.lint" not in names
    assert Chart.load_archive(archive.read_bytes()).metadata["version"] == META["version"]
