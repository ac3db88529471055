"""The README: its "try `run`" config works against the real emulator now, its links resolve, its sections stay."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from docskit import ROOT

from controller.guards.timewindow import window_open
from controller.settings import load_settings

README = ROOT / "README.md"
CLI = [sys.executable, "-m", "controller"]


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def try_config() -> str:
    section = _readme().split("## Try `run` against the emulator", 1)[1].split("\n## ", 1)[0]
    (config,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return config


def test_the_quick_start_commands_are_there_verbatim() -> None:
    text = _readme()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/dws-rebalancer demo"
        in quick
    )
    assert "python -m pytest" in quick


def test_the_sections_a_newcomer_needs_are_there() -> None:
    headings = re.findall(r"^## (.+)$", _readme(), re.M)
    for heading in ("Quick start", "Try `run` against the emulator", "Deploy on Kubernetes"):
        assert heading in headings
    assert "Performance" in headings, "the lead keeps the performance figures here"


def test_every_relative_link_of_the_readme_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", _readme())
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert "docs/configuration.md" in local
    assert [link for link in local if not (ROOT / link).exists()] == []


def test_the_try_config_opens_its_window_at_every_hour_of_the_week(tmp_path: Path) -> None:
    """Whenever a newcomer runs it: every hour of a week, across a DST change elsewhere."""
    path = tmp_path / "try.yaml"
    path.write_text(try_config(), encoding="utf-8")
    settings = load_settings(path, environ={})
    monday = dt.datetime(2026, 3, 23, tzinfo=dt.UTC)
    closed = [
        hour
        for hour in range(7 * 24)
        if not window_open(settings.policy.windows, monday + dt.timedelta(hours=hour, minutes=59))
    ]
    assert closed == []


@pytest.fixture
def emulator() -> Iterator[str]:
    """`dws-rebalancer simulator` as the README starts it, on a free port instead of 8088."""
    process = subprocess.Popen(
        [*CLI, "simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"DWS emulator listening on (http://\S+)", first)
        assert match, first + (process.stderr.read() if process.poll() is not None else "")
        yield match.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _once(config: Path, url: str, **env: str) -> dict[str, dict[str, object]]:
    done = subprocess.run(
        [*CLI, "once", "--config", str(config), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=config.parent,
        env={**os.environ, "DWS_REBALANCER_ENDPOINT": url, **env},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    decisions = [json.loads(line) for line in done.stdout.splitlines()]
    return {d["cluster_name"]: d for d in decisions}


@pytest.mark.e2e
def test_run_against_the_emulator_acts_now(emulator: str, tmp_path: Path) -> None:
    config = tmp_path / "try.yaml"
    config.write_text(try_config())
    first = _once(config, emulator)
    assert {name: d["reason"] for name, d in first.items()} == {
        "dws-sales": "debouncing",
        "dws-legacy": "version_unsupported",
        "dws-degraded": "degraded",
        "dws-snapshot": "task_in_progress",
        "dws-drifting": "not_unbalanced",
    }
    assert first["dws-sales"]["next_eligible"] is not None, "it waits 30 s, not for a window"
    # Past the debounce (without waiting for it): the window lets the switchover through now.
    second = _once(config, emulator, DWS_REBALANCER_POLICY__MIN_UNBALANCED_DURATION="0s")
    assert (second["dws-sales"]["action"], second["dws-sales"]["reason"]) == (
        "switchover",
        "eligible",
    )
