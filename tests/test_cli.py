"""The command line against the emulator on a real socket: output, exit codes, journal effects."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.app.cli import main
from controller.clock import SystemClock
from controller.journal import Journal
from controller.settings import Auth
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

AK, SK, PROJECT = "CLIAK000000000000001", "cli-secret-key-value", "cli-project"


@pytest.fixture
def sim() -> Simulator:
    world = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    world.add_cluster(id="c-sales", name="sales", flags={"UNBALANCED"}, switchover_base_seconds=600)
    world.add_cluster(id="c-etl", name="etl", flags={"NORMAL"})
    world.add_cluster(id="c-old", name="legacy", version="8.1.1.100", flags={"UNBALANCED"})
    return world


def write_config(directory: Path, endpoint: str, extra: str = "") -> Path:
    """A config for the emulator at `endpoint`, journal beside it, windows and debounce off."""
    path = directory / "config.yaml"
    path.write_text(
        f"""
endpoint: {endpoint}
project_id: {PROJECT}
auth: {{ak: {AK}, sk: {SK}}}
journal_path: {directory / "journal.db"}
log_format: json
policy: {{windows: [], use_maintenance_window: false, min_unbalanced_duration: 0s}}
{extra}
"""
    )
    return path


@pytest.fixture
def config(sim: Simulator, tmp_path: Path) -> Iterator[Path]:
    with BackgroundServer(sim) as server:
        yield write_config(tmp_path, server.url)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_once_json_then_once_again_does_not_switch_twice(
    config: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "once", "--config", str(config), "--output", "json")
    assert code == 0, err
    rows = {row["cluster_name"]: row for row in map(json.loads, out.splitlines())}
    assert set(rows) == {"sales", "etl", "legacy"}
    assert {k for k in rows["sales"]} >= {
        "cluster_id",
        "cluster_name",
        "action",
        "reason",
        "detail",
    }
    assert (rows["sales"]["action"], rows["sales"]["reason"]) == ("switchover", "eligible")
    assert rows["legacy"]["reason"] == "version_unsupported"
    assert rows["etl"]["action"] == "none"

    code, out, _ = run(capsys, "once", "--config", str(config), "--output", "json")
    assert code == 0
    again = {row["cluster_name"]: row for row in map(json.loads, out.splitlines())}
    assert again["sales"]["reason"] == "switchover_in_progress"
    assert sim.counts["switchover"] == 1
    assert SK not in out


def test_once_wait_tracks_the_switchover_to_its_end(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_cluster(id="c-fast", name="fast", flags={"UNBALANCED"}, switchover_base_seconds=1)
    with BackgroundServer(sim) as server:
        path = write_config(
            tmp_path, server.url, "tracking_interval: 0.5s\nclusters: {include: [fast]}"
        )
        code, out, err = run(capsys, "once", "--config", str(path), "--wait")
    assert code == 0, err
    assert "fast: switchover succeeded (interruption" in out
    with Journal.open(tmp_path / "journal.db", now=dt.datetime.now(dt.UTC)) as journal:
        [record] = journal.switchovers()
    assert record.outcome is not None
    assert record.outcome.value == "succeeded"


def test_status_at_a_future_time_and_table_output(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--at` relative to now (never a fixed date): the debounce running now has ended by then."""
    with BackgroundServer(sim) as server:
        path = write_config(tmp_path, server.url)
        path.write_text(path.read_text().replace("duration: 0s", "duration: 1h"))
        code, now_out, err = run(capsys, "status", "--config", str(path))
        assert code == 0, err
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).astimezone(
            dt.timezone(dt.timedelta(hours=8))
        )
        code, out, err = run(capsys, "status", "--config", str(path), "--at", later.isoformat())
    assert code == 0, err
    assert any(line.startswith("sales") and "debouncing" in line for line in now_out.splitlines())
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["CLUSTER", "STATE", "WOULD", "REASON"]
    assert any(line.startswith("sales") and "switchover" in line for line in lines)
    assert not (tmp_path / "journal.db").exists()  # status writes nothing


def test_status_at_a_past_time_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    code, out, err = run(capsys, "status", "--config", str(config), "--at", earlier)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "is in the past: status looks ahead" in err


def test_status_never_posts(
    config: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "status", "--config", str(config))[0] == 0
    assert sim.counts["switchover"] == 0


def test_pause_resume_and_history(
    config: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "pause", "--config", str(config), "--reason", "quarter close")[0] == 0
    code, out, _ = run(capsys, "once", "--config", str(config), "--output", "json")
    rows = {row["cluster_name"]: row for row in map(json.loads, out.splitlines())}
    assert rows["sales"]["reason"] == "paused"
    assert "quarter close" in rows["sales"]["detail"]
    assert sim.counts["switchover"] == 0
    assert run(capsys, "resume", "--config", str(config))[0] == 0
    run(capsys, "once", "--config", str(config))
    assert sim.counts["switchover"] == 1

    code, out, _ = run(capsys, "history", "--config", str(config), "--cluster", "sales")
    assert code == 0
    assert "switchover (controller) in flight" in out
    assert "decision blocked/paused" in out
    code, out, _ = run(capsys, "history", "--config", str(config))
    assert "all clusters  pause by cli: quarter close" in out
    code, out, _ = run(capsys, "history", "--config", str(config), "--since", "1h", "-o", "json")
    types = {json.loads(line)["type"] for line in out.splitlines()}
    assert {"switchover", "decision"} <= types


def test_manual_switchover_goes_through_the_guards(
    config: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "switchover", "legacy", "--config", str(config), "--ignore-window")
    assert code == 1
    assert "version_unsupported" in out
    code, out, _ = run(capsys, "switchover", "sales", "--config", str(config))
    assert code == 0, out
    assert [p.cluster_id for p in sim.switchovers] == ["c-sales"]
    with Journal.open(config.parent / "journal.db", now=dt.datetime.now(dt.UTC)) as journal:
        assert [r.trigger.value for r in journal.switchovers()] == ["manual"]
    code, out, _ = run(capsys, "switchover", "nope", "--config", str(config))
    assert code == 2


def test_check_config(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check-config", "--config", str(config))
    assert code == 0
    assert "3 cluster(s)" in out
    assert SK not in out


def test_check_config_wrong_secret_fails_cleanly(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWS_REBALANCER_AUTH__SK", "wrong-secret-value")
    code, out, err = run(capsys, "check-config", "--config", str(config))
    assert code == 1
    assert "401" in err
    assert "Traceback" not in err
    assert "wrong-secret-value" not in out + err


@pytest.mark.parametrize(
    ("auth", "masked"),
    [
        ({"ak": "AK1", "sk": "SK1"}, ["SK1", "AK1"]),
        ({"ak": "AK1", "sk": "SK1", "security_token": "ST1"}, ["SK1", "ST1", "AK1"]),
        ({"token": "TOKEN1"}, ["TOKEN1"]),
        ({"username": "u", "password": "PW1", "domain": "d"}, ["PW1"]),
    ],
)
def test_the_command_line_masks_every_credential_it_was_given(
    auth: dict[str, str], masked: list[str]
) -> None:
    assert Auth.model_validate(auth).secret_values() == masked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["once", "--output", "xml"], "invalid choice"),
        (["status", "--at", "tomorrow"], "not an ISO-8601 time"),
        (["status", "--at", "2026-12-01T02:00:00"], "needs a UTC offset"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"endpoint: http://x\nproject_id: p\nauth: {{ak: A, sk: {SK}}}\npoll_interval: soon\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "poll_interval: not a duration" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert SK not in proc.stderr


def test_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.startswith("dws-rebalancer 0.")


def test_listen_address_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "controller", "demo", "--listen", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
