"""The docs site: `mkdocs build --strict` passes, and its generated pages hold everything the code has."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from docskit import ROOT, copy_sources, load_docgen, mkdocs_build
from prometheus_client import generate_latest

from controller.app.cli import build_parser
from controller.record.metrics import Metrics
from controller.settings import Settings

docgen = load_docgen()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    done = mkdocs_build(ROOT, site)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def _text(site: Path, page: str) -> str:
    """The page's HTML with tags dropped and entities decoded: what a reader sees."""
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_the_configuration_page_lists_every_settings_key(site: Path) -> None:
    text = _text(site, "configuration")
    keys = [key for key, _ in docgen.walk(Settings)]
    assert {"policy.windows[].timezone", "auth.sk", "overrides[].match"} <= set(keys)
    assert [key for key in keys if key not in text] == []
    assert "DWS_REBALANCER_POLICY__COOLDOWN" in text
    assert "<!-- generated" not in (site / "configuration/index.html").read_text()


def test_the_metrics_page_lists_every_family_the_registry_exposes(site: Path) -> None:
    exposition = generate_latest(Metrics().registry).decode()
    families = re.findall(r"^# TYPE (\S+) (\S+)", exposition, re.M)
    assert families
    text = _text(site, "metrics")
    for name, kind in families:
        shown = name + ("_total" if kind == "counter" and not name.endswith("_total") else "")
        assert re.search(rf"{re.escape(shown)}\s*{kind}", text), (shown, kind)


def test_the_cli_page_shows_every_command_s_help(site: Path) -> None:
    text = _text(site, "cli")
    (verbs,) = (a.choices for a in build_parser()._actions if a.dest == "command")
    assert "completion" in verbs
    for verb in verbs:
        assert f"usage: dws-rebalancer {verb}" in text, verb
    assert "--scenario FILE" in text, "the simulator's own options, not its stub"


def test_every_alert_has_a_runbook_page_in_the_site(site: Path) -> None:
    names = [rule["alert"] for rule in docgen.alerts()]
    assert names
    for name in names:
        page = (site / "runbooks" / name / "index.html").read_text(encoding="utf-8")
        assert re.search(rf"<h1[^>]*>{name}\b", page), f"runbooks/{name}.md is titled {name}"
    index = _text(site, "runbooks")
    assert [name for name in names if name not in index] == []


def test_a_settings_key_without_a_meaning_fails_the_build(tmp_path: Path) -> None:
    project = copy_sources(tmp_path / "project")
    meanings = project / "docs/reference/configuration.yaml"
    lines = meanings.read_text().splitlines()
    meanings.write_text(
        "\n".join(line for line in lines if not line.startswith("policy.cooldown:"))
    )
    done = mkdocs_build(project, tmp_path / "site")
    assert done.returncode != 0
    assert "settings key policy.cooldown has no meaning" in done.stdout + done.stderr


def test_a_runbook_missing_for_an_alert_fails_the_build(tmp_path: Path) -> None:
    project = copy_sources(tmp_path / "project")
    (project / "docs/runbooks/DwsRebalancerDown.md").unlink()
    done = mkdocs_build(project, tmp_path / "site")
    assert done.returncode != 0
    assert "runbooks missing for ['DwsRebalancerDown']" in done.stdout + done.stderr


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    project = copy_sources(tmp_path / "project")
    page = project / "docs/journal.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    done = mkdocs_build(project, tmp_path / "site")
    assert done.returncode != 0
    assert "missing.md" in done.stdout + done.stderr
