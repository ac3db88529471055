"""The emulator on a real socket: connection-level faults as httpx sees them, and the CLI entry point."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_helpers import UUID_A, Signer, clusters_url

from controller.clock import ManualClock
from controller.model import SWITCHOVER_TASK
from controller.simulator.server import BackgroundServer, main
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(sim: Simulator, wall: ManualClock) -> Iterator[BackgroundServer]:
    with BackgroundServer(sim, wall_clock=wall) as running:
        yield running


def test_serves_on_loopback_with_a_free_port(
    server: BackgroundServer, signed: Signer, sim: Simulator
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    url = clusters_url(base=server.url)
    response = httpx.get(url, headers=signed("GET", url))
    assert response.json()["count"] == 2
    assert "server" not in response.headers
    assert sim.counts == {"list_clusters": 1}


@pytest.mark.parametrize(
    ("operation", "kind", "params", "path", "method"),
    [
        ("get_cluster", "reset", {}, f"/{UUID_A}", "GET"),
        ("switchover", "lost_response", {}, f"/{UUID_A}/switchover", "POST"),
        ("get_cluster", "timeout", {"seconds": 0.05}, f"/{UUID_A}", "GET"),
    ],
)
def test_dropped_connection_is_a_remote_protocol_error(
    server: BackgroundServer,
    signed: Signer,
    sim: Simulator,
    operation: str,
    kind: str,
    params: dict[str, Any],
    path: str,
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim.faults.inject(operation, kind, **params)
    url = clusters_url(path, base=server.url)
    with httpx.Client(timeout=5) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.request(method, url, headers=signed(method, url))
        detail_url = clusters_url(f"/{UUID_A}", base=server.url)
        after = http.get(detail_url, headers=signed("GET", detail_url))
    assert after.status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], (
        "a deliberate drop is no error"
    )
    applied = kind == "lost_response"
    assert (after.json()["cluster"]["task_status"] == SWITCHOVER_TASK) is applied


@pytest.mark.parametrize(
    ("kind", "params"), [("timeout", {}), ("lost_response", {"mode": "timeout"})]
)
def test_hanging_request_is_a_read_timeout(
    server: BackgroundServer, signed: Signer, sim: Simulator, kind: str, params: dict[str, Any]
) -> None:
    sim.faults.inject("switchover", kind, **params)
    url = clusters_url(f"/{UUID_A}/switchover", base=server.url)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, headers=signed("POST", url), timeout=0.2)
    assert len(sim.switchovers) == (kind == "lost_response")


def test_port_in_use_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--speed", "0"],
        ["--speed", "fast"],
        ["--speed", "nan"],
        ["--speed", "inf"],
        ["--port", "x"],
        ["--port", "70000"],  # bind() would raise OverflowError
        ["--port", "-5"],  # the resolver would say "Servname not supported"
        ["--bogus"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: dws-rebalancer simulator" in err
    last = err.splitlines()[-1]
    assert last.startswith("dws-rebalancer simulator: error: ")
    assert argv[0] in last


def test_help_exits_0_and_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--scenario FILE scenario YAML (default: the built-in one)" in out
    assert "address to listen on (default: 127.0.0.1)" in out
    assert "0 for any free one (default: 8088)" in out
    assert "access key to accept (default: the scenario's)" in out
    assert "faster than the wall clock (default: 1.0)" in out


def test_bad_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters: [{name: a, load: 7}]\n")
    assert main(["--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "clusters.0.load" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signalled(sig: signal.Signals) -> None:
    command = [sys.executable, "-m", "controller.simulator.server", "--port", "0", "--speed", "60"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("DWS emulator listening on http://127.0.0.1:")
        base = banner.rsplit(" ", 1)[1].strip()
        rest = [proc.stdout.readline() for _ in range(5)]
        assert any("SIMULATORAK0000000000" in line for line in rest)
        assert httpx.get(clusters_url(base=base)).status_code == 401
        os.kill(proc.pid, sig)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
