"""The operator's commands and their messages: reset-breaker, history, help texts, pipes."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.app.cli import ignore_window_help, main
from controller.clock import SystemClock
from controller.guards.registry import GUARDS, IGNORE_WINDOW_BYPASSES
from controller.journal import Journal
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator
from tests.test_cli import AK, PROJECT, SK, run, write_config

CLI_DOCS = Path(__file__).parent.parent / "docs" / "cli.md"


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    world = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    world.add_cluster(id="c-sales", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=600)
    world.add_cluster(id="c-etl", name="etl", flags={"NORMAL"})
    with BackgroundServer(world) as server:
        yield write_config(tmp_path, server.url)


def operator_events(journal_path: Path) -> list[str]:
    with Journal.open_read_only(journal_path) as journal:
        return [str(event) for event in journal.operator_events()]


def test_reset_breaker_of_an_unknown_cluster_exits_2_and_writes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "once", "--config", str(config))[0] == 0
    journal = config.parent / "journal.db"
    before = operator_events(journal)
    code, out, err = run(capsys, "reset-breaker", "nope", "--config", str(config))
    assert (code, out) == (2, "")
    assert err.strip() == f"dws-rebalancer: no cluster 'nope' in the journal {journal}"
    assert operator_events(journal) == before


@pytest.mark.parametrize("cluster", ["sales", "c-sales"])
def test_reset_breaker_by_name_or_id(
    config: Path, cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "once", "--config", str(config))[0] == 0
    code, out, _ = run(capsys, "reset-breaker", cluster, "--config", str(config))
    assert code == 0
    assert out.startswith(f"breaker of {cluster} reset")
    code, out, _ = run(capsys, "history", "--config", str(config), "--cluster", "sales")
    assert "  sales  breaker_reset by cli" in out  # by its name, like every other history row


def test_history_with_no_rows_says_so(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "pause", "--config", str(config))[0] == 0  # creates the journal, one event
    code, out, _ = run(capsys, "history", "--config", str(config), "--cluster", "nope")
    assert (code, out) == (
        0,
        "no switchovers, decision changes or operator actions recorded for cluster nope\n",
    )
    code, out, _ = run(
        capsys, "history", "--config", str(config), "--cluster", "nope", "-o", "json"
    )
    assert (code, out) == (0, "")  # JSON lines: no rows is no lines


def test_history_reads_without_writing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "once", "--config", str(config))[0] == 0
    journal = config.parent / "journal.db"
    journal.chmod(0o444)
    before = journal.stat().st_mtime_ns
    assert run(capsys, "history", "--config", str(config))[0] == 0
    assert journal.stat().st_mtime_ns == before


def test_history_into_a_pipe_closed_early_ends_quietly(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(8):  # well past a pipe's 64 KiB buffer, so the writer meets the closed end
        assert run(capsys, "pause", "--config", str(config), "--reason", "x" * 20_000)[0] == 0
        assert run(capsys, "resume", "--config", str(config))[0] == 0
    history = subprocess.Popen(
        [sys.executable, "-m", "controller", "history", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert history.stdout is not None
    history.stdout.readline()
    history.stdout.close()  # `| head -1`
    _, err = history.communicate(timeout=60)
    assert history.returncode == 0
    assert err == b""


def _help(*command: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "controller", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    return " ".join(proc.stdout.split())


def test_help_shows_every_flag_with_its_meaning_and_default() -> None:
    once = _help("once")
    assert "--reset-journal move an unreadable journal aside" in once
    assert "--output {table,json}, -o {table,json} table for people" in once
    assert "(default: table)" in once
    assert "(default: 60.0)" in _help("demo")


def test_ignore_window_help_names_exactly_what_the_decision_code_bypasses() -> None:
    help_text = ignore_window_help()
    named = {spec.name for spec in GUARDS if re.search(rf"\b{spec.name}\b", help_text)}
    assert named == set(IGNORE_WINDOW_BYPASSES)
    assert help_text in _help("switchover")
    # the docs say the same: every bypassed guard, and none of the safety guards, in its line
    docs = " ".join(CLI_DOCS.read_text(encoding="utf-8").split())
    line = docs[docs.index("`--ignore-window` bypasses only") :].split("—")[0]
    for name in IGNORE_WINDOW_BYPASSES:
        assert name in line
    for spec in GUARDS:
        if not spec.bypassable:
            assert not re.search(rf"\b{spec.name}\b", line), spec.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--speed", "nan"], "must be a finite number above 0"),
        (["demo", "--speed", "0"], "must be a finite number above 0"),
        (["history", "--since", "soon"], "not a duration: 'soon'"),
        (["history", "--since", "99999999999d"], "duration out of range"),
    ],
)
def test_bad_operator_arguments_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_pause_and_resume_use_the_cli_clock(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.app import context
    from controller.clock import ManualClock

    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    monkeypatch.setattr(context, "CLOCK", ManualClock(when))
    assert run(capsys, "pause", "--config", str(config))[0] == 0
    with Journal.open_read_only(config.parent / "journal.db") as journal:
        assert journal.pause_state().since == when
