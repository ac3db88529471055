"""Bad configuration and bad arguments: exit code 2 and one line naming the problem, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app.cli import main

MINIMAL = b"endpoint: http://dws.test\nproject_id: p\nauth: {ak: AK, sk: cli-secret-sk}\n"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper().startswith("DWS_REBALANCER_"):
            monkeypatch.delenv(name)


def config(tmp_path: Path, extra: bytes = b"") -> Path:
    path = tmp_path / "config.yaml"
    path.write_bytes(MINIMAL + extra)
    return path


def controller(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m controller ...` as a user runs it, with only the given DWS_REBALANCER_* set."""
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("DWS_REBALANCER_")}
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environ, **(env or {})},
    )


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (b"region: \xff\n", "is not UTF-8 text (byte 0xff at offset "),
        (b"poll_interval: 99999999999d\n", "poll_interval: duration out of range"),
        (b"poll_interval: P99999999999D\n", "poll_interval: duration out of range"),
        (b"poll_interval: 3000000000w\n", "poll_interval: duration out of range"),
        (b"poll_interval: .inf\n", "poll_interval: a duration must be a finite number"),
        (b"poll_interval: .nan\n", "poll_interval: a duration must be a finite number"),
        (b"poll_interval: 0.01\n", "poll_interval: must be at least 1s, not 10ms"),
        (b"tracking_interval: 100ms\n", "tracking_interval: must be at least 500ms"),
        (b"1: 2\n", "keys must be names"),
        (b"policy: [\n", "is not valid YAML at line"),
    ],
)
def test_bad_config_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: bytes, message: str
) -> None:
    assert main(["check-config", "--config", str(config(tmp_path, extra))]) == 2
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert line.startswith("dws-rebalancer: ")
    assert message in line
    assert "cli-secret-sk" not in captured.err + captured.out


def test_a_directory_as_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(tmp_path)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"dws-rebalancer: cannot read config file {tmp_path}: Is a directory"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DWS_REBALANCER_POLICY__WINDOWS", "[oops", "variable DWS_REBALANCER_POLICY__WINDOWS is"),
        ("DWS_REBALANCER_POLL_INTERVAL", "99999999999d", "poll_interval: duration out of range"),
        ("DWS_REBALANCER_POLL_INTERVAL", "0.5", "poll_interval: must be at least 1s"),
    ],
)
def test_bad_environment_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert main(["check-config", "--config", str(config(tmp_path))]) == 2
    assert message in one_line(capsys.readouterr().err)


def test_not_utf8_config_in_a_real_process(tmp_path: Path) -> None:
    proc = controller("run", "--config", str(config(tmp_path, b"region: cn\xff\n")))
    assert proc.returncode == 2
    offset = len(MINIMAL) + len(b"region: cn")
    assert one_line(proc.stderr) == (
        f"dws-rebalancer: config file {tmp_path / 'config.yaml'} is not UTF-8 text "
        f"(byte 0xff at offset {offset})"
    )


def test_malformed_json_variable_in_a_real_process(tmp_path: Path) -> None:
    proc = controller(
        "check-config",
        "--config",
        str(config(tmp_path)),
        env={"DWS_REBALANCER_POLICY__WINDOWS": "[oops"},
    )
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith(
        "dws-rebalancer: environment variable DWS_REBALANCER_POLICY__WINDOWS is not valid JSON"
    )


def test_infinite_duration_in_a_real_process(tmp_path: Path) -> None:
    proc = controller("once", "--config", str(config(tmp_path, b"policy: {cooldown: .inf}\n")))
    assert proc.returncode == 2
    assert "policy.cooldown: a duration must be a finite number" in one_line(proc.stderr)


def argparse_error(proc: subprocess.CompletedProcess[str]) -> str:
    """argparse's usage error: exit 2, the usage, then one line naming the argument."""
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("usage: ")
    return proc.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("nope", "argument --listen: HOST:PORT, not 'nope'"),
        ("127.0.0.1:70000", "argument --listen: HOST:PORT with a port from 0 to 65535"),
    ],
)
def test_demo_listen_is_checked_as_an_argument(listen: str, message: str) -> None:
    line = argparse_error(controller("demo", "--listen", listen))
    assert line.startswith("dws-rebalancer demo: error: ")
    assert message in line


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("70000", "a port from 0 to 65535 (0: any free port), not 70000"),
        ("-5", "a port from 0 to 65535 (0: any free port), not -5"),
    ],
)
def test_simulator_port_is_checked_as_an_argument(port: str, message: str) -> None:
    line = argparse_error(controller("simulator", "--port", port))
    assert line == f"dws-rebalancer simulator: error: argument --port: {message}"
