"""The real thing for Prometheus to scrape: `dws-rebalancer run` against `dws-rebalancer simulator`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prom import Prometheus, free_port

AK, SK, PROJECT = "OBSAK000000000000001", "obs-secret-sk-never-logged", "obs-project"

#: Blocks (dws-old: version too old; dws-ok: cooldown once unbalanced again), a success (dws-ok),
#: a failure (dws-bad) and a failed cycle (one malformed list answer). The switchable clusters
#: only become unbalanced after a few scrapes, so every counter has a 0 sample before it moves.
SCENARIO = """
project_id: obs-project
clusters:
  - {name: dws-ok, version: 8.2.1.230, sub_status: NORMAL,
     switchover_base_seconds: 3, switchover_outcome: succeed}
  - {name: dws-bad, version: 8.2.1.230, sub_status: NORMAL,
     switchover_base_seconds: 3, switchover_outcome: fail_task}
  - {name: dws-old, version: 8.1.1.100, sub_status: UNBALANCED}
  - {name: dws-fine, version: 9.1.0.200, sub_status: NORMAL}
  - {name: dws-ask, version: 8.2.1.230, sub_status: UNBALANCED}
events:
  - {at: 3s, action: unbalance, cluster: dws-ok}
  - {at: 3s, action: unbalance, cluster: dws-bad}
  - {at: 11s, action: unbalance, cluster: dws-ok}
faults:
  - {at: 2s, operation: list_clusters, kind: malformed, times: 1}
# dws-ok's load gate reads these; its first read fails (HTTP 503), so it is held once with
# load_unknown and the load-source error series has data.
cloud_eye:
  clusters:
    dws-ok: {metrics: {dws008_active_sql_count: {base: 4}}}
  faults:
    - {kind: status, times: 1}
"""

CONFIG = """
endpoint: http://127.0.0.1:{emulator_port}
project_id: obs-project
journal_path: {workdir}/journal.db
listen: 127.0.0.1:{listen_port}
poll_interval: 1s
tracking_interval: 1s
log_format: json
policy:
  windows: []
  use_maintenance_window: false
  min_unbalanced_duration: 0s
  max_concurrent: 2
  # A real probe at a port where nothing listens: every attempt is refused, so what clients
  # "felt" is the whole probed time, and the client-interruption series have data.
  probe: {{enabled: true, host: 127.0.0.1, port: {probe_port}, user: probe, password: x,
          tail: 1s}}
# A webhook channel to a port where nothing listens: its deliveries fail, so the notification
# series have data (declared at 0, then failures).
notify:
  channels:
    - url: json://127.0.0.1:{notify_port}/notify
overrides:
  # dws-ask is under approval: announce with an hour's lead and no window: it is announced at
  # once, for an hour ahead, and never switches over during the test (approval series have data).
  - match: dws-ask
    policy: {{approval: announce, announce_lead: 1h}}
  - match: dws-ok
    policy:
      load:
        cloud_eye: {{endpoint: "http://127.0.0.1:{emulator_port}",
                    limits: {{dws008_active_sql_count: 20}}, lookback: 5m}}
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "controller", *args]


class LiveController:
    """Both processes, started on demand by `run` and stopped by `stop`; logs kept in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.listen_port = free_port()
        self.emulator_port = free_port()
        self.probe_port = free_port()  # never listened on
        self.notify_port = free_port()  # never listened on either
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.listen_port}"

    def run(self, prom: Prometheus) -> None:
        """Start the emulator and the controller once Prometheus is already scraping the address."""
        prom.wait_for('up{job="dws-rebalancer"}')  # scraping (still down): the baseline is seen
        scenario = self.workdir / "scenario.yaml"
        scenario.write_text(SCENARIO)
        self._start(
            "emulator",
            "simulator",
            "--scenario",
            str(scenario),
            "--port",
            str(self.emulator_port),
            "--ak",
            AK,
            "--sk",
            SK,
            "--project-id",
            PROJECT,
        )
        self._wait_listening(self.emulator_port)
        config = self.workdir / "config.yaml"
        config.write_text(CONFIG.format(**vars(self)))
        env = {"DWS_REBALANCER_AUTH__AK": AK, "DWS_REBALANCER_AUTH__SK": SK}
        self._start("controller", "run", "--config", str(config), env=env)

    def _start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self._procs.append(
                subprocess.Popen(
                    _cli(*args),
                    env={**os.environ, **(env or {})},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def _wait_listening(self, port: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"nothing listens on {port}:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}:\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in reversed(self._procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
