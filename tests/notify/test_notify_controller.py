"""Notifications in a whole controller: the cycle does not wait for delivery, secrets stay out of
logs, /status and metrics, and a bad channel is one line and exit code 2."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from notifykit import AK, PROJECT, SK, TOKEN, receiver, refused_port, silent_port
from prometheus_client import generate_latest

from controller.app.bootstrap import Parts, assemble
from controller.clock import ManualClock, stopwatch
from controller.http.status import ControllerStatus
from controller.logs import configure_logging
from controller.loop.runner import Runner
from controller.settings import Settings
from controller.simulator.app import create_app
from controller.simulator.transport import SimulatorTransport
from controller.simulator.world import Simulator

START = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)
UUIDS = [f"4ca46bf1-5c61-48ff-b4f3-0ad4e5e3ba{n:02d}" for n in range(4)]
#: Generous: a cycle that waited for one dead channel would take seconds (Apprise's timeouts).
BOUND = 0.050


def world(clock: ManualClock) -> Simulator:
    sim = Simulator(clock, project_id=PROJECT, ak=AK, sk=SK)
    for n, cid in enumerate(UUIDS):
        sim.add_cluster(id=cid, name=f"dw-{n}", flags={"UNBALANCED"})
    return sim


def settings(tmp: Path, channels: list[dict[str, Any]]) -> Settings:
    return Settings(
        endpoint="http://dws.emulator.test",
        project_id=PROJECT,
        auth={"ak": AK, "sk": SK},
        journal_path=tmp / "journal.db",
        policy={
            "windows": [], "use_maintenance_window": False, "min_unbalanced_duration": "0s",
            "max_concurrent": 4, "max_per_day": 4,
        },
        notify={"channels": channels},
    )  # fmt: skip


@contextlib.asynccontextmanager
async def controller(
    tmp: Path, channels: list[dict[str, Any]]
) -> AsyncIterator[tuple[Parts, ManualClock]]:
    clock = ManualClock(START)
    os.makedirs(tmp, exist_ok=True)  # a test's temporary folder, before any I/O
    transport = SimulatorTransport(create_app(world(clock)))
    async with assemble(settings(tmp, channels), clock=clock, transport=transport) as parts:
        yield parts, clock


async def cycle_seconds(tmp: Path, channels: list[dict[str, Any]]) -> float:
    """The slowest of a few cycles that each start switchovers (so each offers notifications)."""
    async with controller(tmp, channels) as (parts, clock):
        slowest = 0.0
        for _ in range(3):
            elapsed = stopwatch()
            await parts.reconciler.reconcile_once(clock.now())
            slowest = max(slowest, elapsed())
            clock.advance(dt.timedelta(seconds=30))
        return slowest


def dead_channels(hung: int) -> list[dict[str, Any]]:
    quick = "?cto=1&rto=1"  # Apprise's socket timeouts: keep the test's drain short
    return [
        {"url": f"json://127.0.0.1:{hung}/{TOKEN}{quick}"},
        {"url": f"json://127.0.0.1:{refused_port()}/{TOKEN}{quick}"},
    ]


async def test_the_cycle_does_not_wait_for_delivery(tmp_path: Path) -> None:
    baseline = await cycle_seconds(tmp_path / "none", [])
    with silent_port() as hung:
        with_dead = await cycle_seconds(tmp_path / "dead", dead_channels(hung))
    assert with_dead < baseline + BOUND, (baseline, with_dead)


async def test_a_controller_tells_a_real_webhook_what_it_did(tmp_path: Path) -> None:
    with receiver() as hook:
        url = f"json://127.0.0.1:{hook.port}/{TOKEN}"
        async with controller(tmp_path, [{"url": url, "events": ["started"]}]) as (parts, clock):
            await parts.reconciler.reconcile_once(clock.now())
    titles = sorted(body["title"] for body in hook.bodies())
    assert titles == [f"[dws-rebalancer] Switchover started on dw-{n}" for n in range(4)]


async def test_a_token_never_shows_in_logs_status_or_metrics(tmp_path: Path) -> None:
    logs = io.StringIO()
    configure_logging(fmt="json", level="debug", stream=logs)
    try:
        with silent_port() as hung:
            async with controller(tmp_path, dead_channels(hung)) as (parts, clock):
                runner = Runner(parts.reconciler, clock)
                await runner.cycle()
                status = json.dumps(ControllerStatus(runner).status())
                metrics = generate_latest(parts.registry).decode()
    finally:
        configure_logging(fmt="json", level="info", stream=sys.stderr)
    text = logs.getvalue()
    assert "JSON POST URL" in text  # Apprise's debug line names the URL: masked
    assert "[REDACTED]" in text
    assert 'channel="json#1"' in metrics
    for where in (text, status, metrics):
        assert TOKEN not in where


MINIMAL = f"endpoint: http://dws.test\nproject_id: {PROJECT}\nauth: {{ak: {AK}, sk: {SK}}}\n"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("DWS_REBALANCER_")}
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True, text=True, timeout=60, check=False, env={**environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("channels", "command", "says"),
    [
        (f"[{{url: 'nosuch://{TOKEN}/'}}]", "check-config", "channels.0: Apprise cannot parse this nosuch:// URL"),
        (f"[{{url: 'json://x/{TOKEN}', smn: {{topic_urn: u}}}}]", "check-config", "set exactly one of url, url_env, url_file or smn"),
        ("[{url_env: NO_SUCH_VARIABLE_HERE}]", "once", "notify.channels.0: environment variable NO_SUCH_VARIABLE_HERE is not set"),
        ("[{url_file: /no/such/file}]", "once", "notify.channels.0.url_file: cannot read /no/such/file"),
    ],
)  # fmt: skip
def test_a_bad_channel_is_one_line_and_exit_2(
    tmp_path: Path, channels: str, command: str, says: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        MINIMAL + f"journal_path: {tmp_path / 'j.db'}\nnotify: {{channels: {channels}}}\n"
    )
    done = run_cli(command, "--config", str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # Log lines may come first (`once` starts logging); the error is one line of its own.
    [line] = [line for line in done.stderr.splitlines() if line.startswith("dws-rebalancer:")]
    assert says in line
    assert TOKEN not in line
