"""One writer per journal: `run` as a real process, the other commands beside it, over sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from controller.app.cli import main
from controller.clock import SystemClock
from controller.journal import Journal, RequestState
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

AK, SK, PROJECT = "LOCKAK00000000000001", "lock-secret-key-value", "lock-project"
# The controller never switches over on its own here (max_per_day 0); `--ignore-window`
# bypasses the daily budget, so only a manual switchover can act.
POLICY = "{windows: [], use_maintenance_window: false, min_unbalanced_duration: 0s, max_per_day: 0}"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Simulator:
    world = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    world.add_cluster(id="c-sales", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=1)
    world.add_cluster(id="c-etl", name="etl", flags={"NORMAL"})
    return world


@pytest.fixture
def config(sim: Simulator, tmp_path: Path) -> Iterator[Path]:
    with BackgroundServer(sim) as server:
        path = tmp_path / "config.yaml"
        path.write_text(
            f"""
endpoint: {server.url}
project_id: {PROJECT}
auth: {{ak: {AK}, sk: {SK}}}
journal_path: {tmp_path / "journal.db"}
listen: 127.0.0.1:{free_port()}
poll_interval: 1s
tracking_interval: 0.5s
log_format: json
policy: {POLICY}
"""
        )
        yield path


def journal_of(config: Path) -> Path:
    return config.parent / "journal.db"


def start_run(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "controller", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def runner(config: Path) -> Iterator[subprocess.Popen[str]]:
    """A `run` process holding the journal's actor lock (its pid is in the lock file)."""
    proc = start_run(config)
    lock = Path(f"{journal_of(config)}.lock")
    try:
        wait_for(
            lambda: lock.exists() and lock.read_text().strip() == str(proc.pid),
            60,
            "the controller to take the actor lock",
        )
        wait_for(lambda: serving(config), 60, "the controller to serve (and handle SIGTERM)")
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-2000:]
        assert SK not in err


def serving(config: Path) -> bool:
    [listen] = re.findall(r"^listen: (\S+)$", config.read_text(), re.MULTILINE)
    try:
        return httpx.get(f"http://{listen}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_second_run_on_the_same_journal_exits_1_naming_the_holder(
    config: Path, runner: subprocess.Popen[str]
) -> None:
    second = start_run(config)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 1
    assert f"journal {journal_of(config)} is in use by pid {runner.pid}" in err
    assert "Traceback" not in err
    assert runner.poll() is None, "the first controller keeps running"


def test_once_beside_a_running_controller_exits_1(
    config: Path, runner: subprocess.Popen[str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "once", "--config", str(config), "--output", "json")
    assert code == 1
    assert f"is in use by pid {runner.pid}" in err
    code, _, err = cli(capsys, "once", "--config", str(config), "--reset-journal")
    assert code == 1, "a journal in use is never moved aside"
    assert not list(config.parent.glob("*.bak"))
    assert sim.counts["switchover"] == 0


def test_switchover_beside_a_running_controller_is_carried_out_by_it(
    config: Path, runner: subprocess.Popen[str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "switchover", "sales", "--config", str(config), "--ignore-window", "--wait"
    )
    assert code == 0, out + err
    assert (
        f"switchover requested (request 1); the controller holding the journal (pid {runner.pid})"
        in out
    )
    assert "sales: the controller sent the switchover" in out
    assert "sales: switchover succeeded (interruption" in out
    assert sim.counts["switchover"] == 1, "exactly one POST, sent by the controller"
    with Journal.open_read_only(journal_of(config)) as journal:
        [record] = journal.switchovers()
        request = journal.switchover_request(1)
    assert record.trigger.value == "manual"
    assert request is not None
    assert (request.state, request.switchover_id) == (RequestState.DONE, record.id)


def test_switchover_beside_a_controller_asks_the_guards_first(
    config: Path, runner: subprocess.Popen[str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "switchover", "sales", "--config", str(config))
    assert code == 1
    assert "sales is blocked (daily_budget)" in out
    assert "(no switchover sent)" in out
    code, out, _ = cli(capsys, "switchover", "etl", "--config", str(config), "--ignore-window")
    assert code == 1
    assert "etl is balanced: nothing to do (no switchover sent)" in out
    with Journal.open_read_only(journal_of(config)) as journal:
        assert journal.switchover_request(1) is None, "nothing was requested"
    assert sim.counts["switchover"] == 0


def test_pause_beside_a_running_controller_is_honoured(
    config: Path, runner: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "pause", "--config", str(config), "--reason", "incident")
    assert code == 0, err

    def paused() -> bool:
        with Journal.open_read_only(journal_of(config)) as journal:
            return any(d.reason.value == "paused" for d in journal.decisions(cluster_id="c-sales"))

    wait_for(paused, 20, "the running controller to record the pause")
    assert cli(capsys, "resume", "--config", str(config))[0] == 0


def test_switchover_without_a_controller_acts_itself_and_releases_the_lock(
    config: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "switchover", "sales", "--config", str(config), "--ignore-window")
    assert code == 0, out
    assert "switchover requested" not in out
    assert sim.counts["switchover"] == 1
    assert Path(f"{journal_of(config)}.lock").read_text() == "", "released, pid forgotten"


@pytest.mark.parametrize("command", [["status"], ["history"], ["check-config"]])
def test_read_only_commands_never_create_the_journal(
    config: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *command, "--config", str(config))
    assert code in (0, 2), err  # history: "no journal" is a usage error
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]
    assert "starting_without_history" not in err
    if command == ["check-config"]:
        assert f"journal {journal_of(config)}: missing" in out


def test_status_reads_an_existing_journal_without_writing_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "pause", "--config", str(config), "--reason", "freeze")[0] == 0
    before = {p.name: p.read_bytes() for p in config.parent.iterdir()}
    code, out, _ = cli(capsys, "status", "--config", str(config), "-o", "json")
    assert code == 0
    rows = {row["cluster_name"]: row for row in map(json.loads, out.splitlines())}
    assert rows["sales"]["reason"] == "paused", "the journal's pause flag was read"
    assert {p.name: p.read_bytes() for p in config.parent.iterdir()} == before


def test_check_config_fails_on_an_unreadable_journal(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_of(config).write_bytes(b"not a journal at all" * 50)
    code, out, err = cli(capsys, "check-config", "--config", str(config))
    assert code == 1
    assert "journal NOT usable: journal" in out
    assert "not a database" in out
    assert "Traceback" not in err
    assert journal_of(config).read_bytes() == b"not a journal at all" * 50


def test_check_config_reports_a_usable_journal(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "pause", "--config", str(config))[0] == 0
    code, out, _ = cli(capsys, "check-config", "--config", str(config))
    assert code == 0
    assert f"journal {journal_of(config)}: OK (schema v5)" in out


def test_the_lock_file_holds_no_secret(config: Path, runner: subprocess.Popen[str]) -> None:
    assert Path(f"{journal_of(config)}.lock").read_text() == f"{runner.pid}\n"
    assert os.stat(f"{journal_of(config)}.lock").st_size < 16
