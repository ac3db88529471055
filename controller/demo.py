"""`dws-rebalancer demo`: the real controller against the bundled emulator, with time accelerated.

Everything is real except DWS itself: HTTP over a loopback socket with AK/SK signing, the SQLite
journal, the guards, the metrics server. Virtual time runs `speed` times faster than the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from controller.clock import ScaledClock
from controller.logs import configure_logging
from controller.model import Action, Decision, Outcome, Reason, SwitchoverRecord
from controller.runner import Runner
from controller.server import HttpServer
from controller.service import serve_controller
from controller.settings import ConfigError, Settings
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

#: Monday 2026-11-30 00:48 in Shanghai (Sunday 16:48 UTC): the 01:00 window opens 12 minutes in.
DEMO_START = dt.datetime(2026, 11, 29, 16, 48, tzinfo=dt.UTC)
PROJECT, AK, SK = "demo-project", "DEMOAK00000000000001", "demo-secret-key"
CST = dt.timezone(dt.timedelta(hours=8), "CST")
DEMO_SECONDS = 55.0  # real seconds before the summary, at most


def build_world(sim: Simulator) -> None:
    """The built-in scenario: one cluster per behaviour the demo must show."""
    sim.add_cluster(
        id="7a1c-sales", name="sales-dw", version="8.2.1.230", flags={"UNBALANCED"}, load=0.4
    )
    sim.add_cluster(id="3b2d-legacy", name="legacy-dw", version="8.1.1.100", flags={"UNBALANCED"})
    sim.add_cluster(
        id="5c3e-risk", name="risk-dw", version="8.2.1.230", flags={"DEGRADED", "UNBALANCED"}
    )
    sim.add_cluster(id="9d4f-etl", name="etl-dw", version="9.1.0.200", load=0.1)
    sim.add_cluster(
        id="1e5a-report",
        name="report-dw",
        version="8.2.1.230",
        flags={"UNBALANCED"},
        task_status="SNAPSHOTTING",
    )
    sim.at(dt.timedelta(minutes=15), ("unbalance", "etl-dw"))
    sim.at(dt.timedelta(minutes=20), ("clear_task", "report-dw"))


def demo_settings(endpoint: str, journal: Path, listen: str) -> Settings:
    return Settings(
        endpoint=endpoint,
        project_id=PROJECT,
        auth={"ak": AK, "sk": SK},
        journal_path=journal,
        listen=listen,
        log_format="console",
        log_level="warning",
        poll_interval="60s",
        tracking_interval="5s",
        policy={
            "min_unbalanced_duration": "10m",
            "cooldown": "6h",
            "max_concurrent": 1,
            "windows": [
                {
                    "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
                    "start": "01:00",
                    "end": "05:00",
                    "timezone": "Asia/Shanghai",
                }
            ],
        },
    )


@dataclass
class Narrator:
    """Prints what the controller decides, as it happens, and remembers what the demo must show."""

    clock: ScaledClock
    out: TextIO
    last: dict[str, tuple[Action, Reason]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    finished: list[SwitchoverRecord] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set once everything was shown

    @staticmethod
    def _local(when: dt.datetime) -> str:
        return f"{when.astimezone(CST):%a %H:%M:%S} CST"

    def _say(self, text: str) -> None:
        self.out.write(f"[{self._local(self.clock.now())}] {text}\n")
        self.out.flush()

    def decision(self, d: Decision) -> None:
        key = (d.action, d.reason)
        if self.last.get(d.cluster_name) == key:
            return
        self.last[d.cluster_name] = key
        self.seen.add(f"{d.cluster_name}:{d.reason.value}")
        self._check_done()
        when = f" [next eligible {self._local(d.next_eligible)}]" if d.next_eligible else ""
        self._say(
            f"{d.cluster_name:<10} {d.action.value:<10} {d.reason.value:<22} {d.detail}{when}"
        )

    def switchover(self, record: SwitchoverRecord) -> None:
        if record.outcome is None:
            self._say(f"{record.cluster_name:<10} switchover started ({record.trigger.value})")
            return
        self.finished.append(record)
        self._check_done()
        took = (
            f", interruption {record.interruption_seconds:.0f}s (virtual)"
            if record.interruption_seconds is not None
            else ""
        )
        self._say(f"{record.cluster_name:<10} switchover {record.outcome.value}{took}")

    def _check_done(self) -> None:
        if self.complete():
            self.done.set()

    def complete(self) -> bool:
        """Everything the demo promises has been shown."""
        wanted = {
            "sales-dw:outside_window",
            "legacy-dw:version_unsupported",
            "risk-dw:degraded",
            "report-dw:task_in_progress",
            "etl-dw:not_unbalanced",
            "etl-dw:debouncing",
        }
        succeeded = {r.cluster_name for r in self.finished if r.outcome is Outcome.SUCCEEDED}
        return wanted <= self.seen and {"sales-dw", "etl-dw"} <= succeeded

    def summary(self) -> str:
        lines = ["", "summary:"]
        for name, (action, reason) in sorted(self.last.items()):
            lines.append(f"  {name:<10} last decision {action.value}/{reason.value}")
        for r in self.finished:
            took = f"{r.interruption_seconds:.0f}s" if r.interruption_seconds is not None else "-"
            lines.append(f"  switchover {r.cluster_name}: {r.outcome} (interruption {took})")
        return "\n".join(lines) + "\n"


async def run_demo(*, forever: bool, listen: str, speed: float, out: TextIO = sys.stdout) -> int:
    if speed <= 0:
        raise ConfigError("--speed must be positive")
    configure_logging(fmt="console", level="warning", stream=sys.stderr)
    clock = ScaledClock(DEMO_START, speed)
    sim = Simulator(clock, project_id=PROJECT, ak=AK, sk=SK)
    build_world(sim)
    narrator = Narrator(clock, out)
    stop = asyncio.Event()
    with (
        tempfile.TemporaryDirectory(prefix="dws-rebalancer-demo-") as tmp,
        BackgroundServer(sim) as dws,
    ):
        settings = demo_settings(dws.url, Path(tmp) / "journal.db", listen)

        def ready(_: Runner, server: HttpServer) -> None:
            out.write(
                f"DWS emulator on {dws.url}; metrics on http://{settings.listen_host}:"
                f"{server.port}/metrics; time runs {speed:g}x faster\n"
            )

        async def finish_when_shown() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(narrator.done.wait(), DEMO_SECONDS)
            out.write(narrator.summary())
            if not forever:
                stop.set()

        watcher = asyncio.create_task(finish_when_shown())
        await serve_controller(
            settings,
            clock=clock,
            time_scale=speed,
            stop=stop,
            on_decision=narrator.decision,
            on_switchover=narrator.switchover,
            on_ready=ready,
        )
        watcher.cancel()
    return 0 if narrator.complete() else 1
