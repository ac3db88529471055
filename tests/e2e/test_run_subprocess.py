"""End to end: `dws-rebalancer run` as a process against the emulator process, over real sockets."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from controller.journal import Journal
from controller.model import Outcome

pytestmark = pytest.mark.e2e

AK, SK, PROJECT = "E2EAK000000000000001", "e2e-secret-never-printed", "e2e-project"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "controller", *args]


@pytest.fixture
def emulator() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        cli("simulator", "--port", str(port), "--ak", AK, "--sk", SK, "--project-id", PROJECT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/", timeout=1).status_code > 0
        except httpx.TransportError:
            return False

    try:
        wait_for(up, 20, "the emulator to listen")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_run_acts_serves_status_and_stops_on_sigterm(emulator: str, tmp_path: Path) -> None:
    listen = free_port()
    journal = tmp_path / "journal.db"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
endpoint: {emulator}
project_id: {PROJECT}
journal_path: {journal}
listen: 127.0.0.1:{listen}
poll_interval: 1s
tracking_interval: 1s
log_format: json
policy: {{windows: [], use_maintenance_window: false, min_unbalanced_duration: 0s}}
"""
    )
    env = {**os.environ, "DWS_REBALANCER_AUTH__AK": AK, "DWS_REBALANCER_AUTH__SK": SK}
    proc = subprocess.Popen(
        cli("run", "--config", str(config)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{listen}"
    try:

        def switched() -> bool:
            try:
                status = httpx.get(base + "/status", timeout=1).json()
            except (httpx.TransportError, ValueError):
                return False
            return any(
                c["tracked_switchover"] or (c["decision"] or {}).get("reason") == "cooldown"
                for c in status["clusters"]
            )

        wait_for(switched, 30, "a switchover to be triggered")
        assert httpx.get(base + "/readyz", timeout=2).status_code == 200
        assert httpx.get(base + "/healthz", timeout=2).status_code == 200
        metrics = httpx.get(base + "/metrics", timeout=2).text
        assert "dws_rebalancer_decisions_total" in metrics
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        stopped_in = time.monotonic() - started
    assert proc.returncode == 0, err[-2000:]
    assert stopped_in < 10
    assert SK not in out + err
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "controller_started" in events
    assert events[-1] == "controller_stopped" or "controller_stopped" in events
    with Journal.open(journal, now=dt.datetime.now(dt.UTC)) as j:
        records = j.switchovers()
    assert records, "the switchover was journaled"
    per_cluster = [r.cluster_id for r in records if r.outcome is not Outcome.REJECTED]
    assert len(per_cluster) == len(set(per_cluster)), "one switchover per cluster (cooldown)"
