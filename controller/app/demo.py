"""`dws-rebalancer demo`: the real controller against the bundled emulator, with time accelerated.

Everything is real except DWS itself: HTTP over a loopback socket with AK/SK signing, the SQLite
journal, the guards, the metrics server, the notifications (Apprise posting to a local webhook
receiver) and a person's veto (`demo_people`). Virtual time runs `speed` times faster than the
wall clock. Ctrl-C at any point stops it cleanly with exit code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from controller.app.demo_people import Notification, Person, planned_prefix, receiver
from controller.app.service import serve_controller
from controller.clock import ScaledClock
from controller.http.server import HttpServer
from controller.journal import Journal
from controller.logs import configure_logging
from controller.loop.fleet import FleetRunner
from controller.model import Action, Decision, Outcome, Reason, SwitchoverRecord
from controller.notify.templates import EVENTS
from controller.record.events import (
    ApprovalStateChanged,
    DecisionMade,
    Event,
    Origin,
    ProbeFinished,
    SwitchoverFinished,
    SwitchoverStarted,
)
from controller.settings import IMPLICIT_TARGET, ConfigError, Settings
from controller.simulator import postgres
from controller.simulator.cloudeye import CloudEyeSpec
from controller.simulator.proxy import OutagePlan, TcpProxy, attach
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

#: Monday 2026-11-30 00:48 in Shanghai (Sunday 16:48 UTC): the 01:00 window opens 12 minutes in.
DEMO_START = dt.datetime(2026, 11, 29, 16, 48, tzinfo=dt.UTC)
PROJECT, AK, SK = "demo-project", "DEMOAK00000000000001", "demo-secret-key"
DEMO_SECONDS = 55.0  # real seconds before the summary, at most
INTERRUPTED = "demo interrupted (Ctrl-C)"  # the cli says the same when Ctrl-C beats our handler


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
    # crm-dw is under `approval: announce`: its switchover is announced, vetoed, announced again.
    sim.add_cluster(id="8b6c-crm", name="crm-dw", version="8.2.1.230", flags={"UNBALANCED"})
    sim.at(dt.timedelta(minutes=15), ("unbalance", "etl-dw"))
    sim.at(dt.timedelta(minutes=20), ("clear_task", "report-dw"))
    # report-dw's nightly ETL keeps 40 queries running until 17:20 UTC: its load gate holds it.
    # batch-dw learns its week from Cloud Eye: busy all day but 03:00-04:00 Shanghai, with an
    # ETL at 01:00-03:00. Under `schedule: quietest` it waits for 03:00, not the window's 01:00.
    sim.add_cluster(id="6f7a-batch", name="batch-dw", version="8.2.1.230", flags={"UNBALANCED"})
    CloudEyeSpec.model_validate(
        {
            "clusters": {
                "report-dw": {"metrics": {LOAD_METRIC: {"base": 3, "peaks": [ETL_PEAK]}}},
                "batch-dw": {"timezone": "Asia/Shanghai", "metrics": {LOAD_METRIC: BATCH_WEEK}},
            }
        }
    ).install(sim.cloud_eye, {"report-dw": "1e5a-report", "batch-dw": "6f7a-batch"})


LOAD_METRIC = "dws008_active_sql_count"
ETL_PEAK = {"start": "17:00", "end": "17:20", "value": 40}
BATCH_WEEK = {
    "base": 2,
    "peaks": [
        {"start": "01:00", "end": "03:00", "value": 30},
        {"start": "04:00", "end": "03:00", "value": 8},  # crosses midnight: all but 03:00-04:00
    ],
}


#: What clients of the switched clusters feel, in virtual seconds into each switchover: sales-dw's
#: connections are refused, etl-dw's stall (the real PostgreSQL behind the emulator's proxy).
OUTAGES = (OutagePlan("sales-dw", "refuse", 6, 12), OutagePlan("etl-dw", "stall", 4, 8))
NO_PROBE = "the demo skips the data-plane probe"


def demo_settings(
    endpoint: str,
    journal: Path,
    listen: str,
    probe: dict[str, object] | None = None,
    notify_url: str | None = None,
) -> Settings:
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
            **({"probe": probe} if probe else {}),
        },
        overrides=[load_gate(endpoint), quietest(endpoint), ANNOUNCED],
        notify={"channels": [{"url": notify_url}] if notify_url else []},
    )


def load_gate(endpoint: str) -> dict[str, object]:
    """Only report-dw has a load gate: the emulator's Cloud Eye must see fewer than 20 active
    queries over the last 5 minutes."""
    cloud_eye = {"endpoint": endpoint, "limits": {LOAD_METRIC: 20}, "lookback": "5m"}
    return {"match": "report-dw", "policy": {"load": {"cloud_eye": cloud_eye}}}


def quietest(endpoint: str) -> dict[str, object]:
    """batch-dw waits for the quietest hour its Cloud Eye history shows inside the window."""
    cloud_eye = {"endpoint": endpoint, "limits": {LOAD_METRIC: 20}, "lookback": "5m"}
    load = {"schedule": "quietest", "cloud_eye": cloud_eye}
    return {"match": "batch-dw", "policy": {"load": load}}


#: crm-dw's switchovers are announced 10 minutes ahead, for one of two short windows (Monday
#: 01:03-01:07 and 01:17-01:21 Shanghai): the demo vetoes the first slot, and a veto without
#: --until covers the rest of that window, so the next announcement names the second one.
ANNOUNCED: dict[str, object] = {
    "match": "crm-dw",
    "policy": {
        "approval": "announce",
        "announce_lead": "10m",
        "windows": [
            {"days": ["Mon"], "start": start, "end": end, "timezone": "Asia/Shanghai"}
            for start, end in (("01:03", "01:07"), ("01:17", "01:21"))
        ],
    },
}
VETOED = "crm-dw"  # the cluster whose first announced slot the demo vetoes
VETO_REASON = "month-end close"
#: The clusters whose switchovers the demo waits for.
EXPECTED = frozenset({"sales-dw", "etl-dw", "report-dw", VETOED})
SUBJECT_PREFIX = "[dws-rebalancer] "


@contextlib.contextmanager
def database(out: TextIO) -> Iterator[postgres.PgServer | None]:
    """A real PostgreSQL to stand in for the clusters' SQL endpoint, or None (said why) when it is
    not installed or does not start. Started before the demo's clock, so it costs no demo time."""
    reason = postgres.unavailable_reason()
    if reason is not None:
        out.write(f"{reason}: {NO_PROBE}.\n")
        yield None
        return
    with contextlib.ExitStack() as held:
        try:
            pg = held.enter_context(postgres.running_server())
        except Exception as exc:  # a demo without its optional part still shows the rest
            out.write(f"PostgreSQL did not start ({type(exc).__name__}): {NO_PROBE}.\n")
            pg = None
        yield pg


@contextlib.contextmanager
def sql_endpoint(
    pg: postgres.PgServer | None, sim: Simulator, clock: ScaledClock, out: TextIO
) -> Iterator[dict[str, object]]:
    """The emulator's proxy in front of `pg`, cut during the switchovers, and the probe settings
    for it; empty (no probe) without a database."""
    if pg is None:
        yield {}
        return
    with TcpProxy((pg.host, pg.port), clock) as proxy:
        attach(sim, proxy, *OUTAGES)
        out.write(
            f"A real PostgreSQL on {pg.host}:{pg.port} stands in for the clusters' SQL endpoint "
            "(behind a proxy the emulator cuts during switchovers): the probe measures what "
            "clients feel.\n"
        )
        yield {
            "enabled": True,
            "host": "127.0.0.1",
            "port": proxy.port,
            "database": pg.database,
            "user": pg.user,
            "password": pg.password,
            "interval": "3s",  # 25-50 ms of real time: a first connection takes a few of those
            "tail": "10s",
        }


def _stamp(when: dt.datetime) -> str:
    """`Sun 16:48:27 UTC`: the demo speaks UTC, like every decision detail it prints."""
    return f"{when.astimezone(dt.UTC):%a %H:%M:%S} UTC"


def intro(speed: float) -> str:
    return (
        f"dws-rebalancer demo: the real controller against the bundled DWS emulator, time "
        f"{speed:g}x faster (Ctrl-C stops it).\n"
        "The off-peak window is Mon-Fri 01:00-05:00 Asia/Shanghai (+08:00).\n"
        "All times below are UTC: that window is Sun-Thu 17:00-21:00 UTC, and the demo starts "
        f"at {_stamp(DEMO_START)}, 12 minutes before it opens.\n"
        f"{VETOED} is under `approval: announce`: each switchover is announced 10 minutes ahead; "
        "a local webhook receiver prints the notifications ([notify]), and a person vetoes the "
        "first one.\n"
    )


@dataclass
class Narrator:
    """A sink: prints what the controller decides, as it happens, and remembers what the demo
    must show."""

    durable = False

    clock: ScaledClock
    out: TextIO
    last: dict[str, tuple[Action, Reason]] = field(default_factory=dict)
    decided_at: dict[str, dt.datetime] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    finished: list[SwitchoverRecord] = field(default_factory=list)
    expect_probe: bool = False
    felt: dict[str, float | None] = field(default_factory=dict)  # what clients felt, by cluster
    notified: set[str] = field(default_factory=set)  # the subjects the local receiver got
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set once everything was shown

    def _say(self, text: str) -> None:
        self.out.write(f"[{_stamp(self.clock.now())}] {text}\n")
        self.out.flush()

    def handle(self, event: Event) -> None:
        match event:
            case DecisionMade(decision=decision):
                self.decision(decision)
            case SwitchoverStarted(record=record, origin=origin) if origin is not Origin.RESUMED:
                self.switchover(record)
            case SwitchoverFinished(record=record):
                self.switchover(record)
            case ProbeFinished(record=record, impact=impact):
                self.probed(record, impact.interruption_seconds)
            case ApprovalStateChanged(cluster_name=name, state=state, slot=slot) if state:
                slot_text = f"slot {_stamp(slot)}" if slot else ""
                self._say(f"{name:<10} {'approval':<10} {state:<22} {slot_text}".rstrip())

    def decision(self, d: Decision) -> None:
        self.decided_at[d.cluster_name] = d.at
        key = (d.action, d.reason)
        if self.last.get(d.cluster_name) == key:
            self._check_done()
            return
        self.last[d.cluster_name] = key
        self.seen.add(f"{d.cluster_name}:{d.reason.value}")
        self._check_done()
        when = f" [next eligible {_stamp(d.next_eligible)}]" if d.next_eligible else ""
        self._say(
            f"{d.cluster_name:<10} {d.action.value:<10} {d.reason.value:<22} {d.detail}{when}"
        )

    def switchover(self, record: SwitchoverRecord) -> None:
        if record.outcome is None:
            self._say(f"{record.cluster_name:<10} switchover started ({record.trigger.value})")
            return
        self.finished.append(record)
        self._check_done()
        self._say(f"{record.cluster_name:<10} switchover {_outcome(record)}")

    def probed(self, record: SwitchoverRecord, felt: float | None) -> None:
        self.felt[record.cluster_name] = felt
        control = record.interruption_seconds
        task = "?" if control is None else f"{control:.0f}"
        what = (
            "clients saw no failure"
            if felt == 0
            else f"clients could not work for {'?' if felt is None else f'{felt:.0f}'}s"
        )
        self._say(f"{record.cluster_name:<10} {what} (DWS's task took {task}s; data-plane probe)")
        self._check_done()

    def heard(self, note: Notification) -> None:
        """A notification the local receiver got: its subject, as a chat app would show it."""
        self.notified.add(note.title)
        self._say(f"[notify] {note.title.removeprefix(SUBJECT_PREFIX)}")
        self._check_done()

    def said(self, command: str, sentence: str) -> None:
        """What a person did about a notification, and what the command answered."""
        self._say(f"{VETOED:<10} {'person':<10} $ {command}")
        self._say(f"{VETOED:<10} {'person':<10} {sentence}")

    def _check_done(self) -> None:
        if self.complete():
            self.done.set()

    def complete(self) -> bool:
        """Everything the demo promises has been shown, and every finished switchover has been
        followed by a decision, so the summary shows each cluster as it is afterwards."""
        wanted = {
            "sales-dw:outside_window",
            "legacy-dw:version_unsupported",
            "risk-dw:degraded",
            "report-dw:task_in_progress",
            "etl-dw:not_unbalanced",
            "etl-dw:debouncing",
            "report-dw:load_high",
            "batch-dw:awaiting_quiet_slot",
            f"{VETOED}:vetoed",
        }
        succeeded = {r.cluster_name for r in self.finished if r.outcome is Outcome.SUCCEEDED}
        # A decision at the very instant the end was seen came from the same cycle, after its
        # tracking stage: it already shows the cluster as the switchover left it.
        settled = all(
            r.ended is not None
            and r.cluster_name in self.decided_at
            and self.decided_at[r.cluster_name] >= r.ended
            for r in self.finished
        )
        switched = succeeded >= EXPECTED
        probed = not self.expect_probe or self.felt.keys() >= EXPECTED
        return wanted <= self.seen and switched and settled and probed and self._people_heard()

    def _people_heard(self) -> bool:
        """Two slots announced for the vetoed cluster (the vetoed one and the next), and every
        switchover's success told: the receiver printed the whole flow."""
        planned = [t for t in self.notified if t.startswith(planned_prefix(VETOED))]
        told = {EVENTS["en"]["succeeded"][0].format(cluster=name) for name in EXPECTED}
        return len(planned) >= 2 and told <= self.notified

    def summary(self) -> str:
        """Each cluster's state at the end: its last decision and its last switchover."""
        last_switchover = {r.cluster_name: r for r in self.finished}
        lines = ["", f"summary at {_stamp(self.clock.now())}:"]
        for name, (action, reason) in sorted(self.last.items()):
            record = last_switchover.get(name)
            switched = f"last switchover {_outcome(record)}" if record else "no switchover"
            if self.felt.get(name) is not None:
                switched += f", clients {self.felt[name]:.0f}s"
            lines.append(f"  {name:<10} {f'{action.value}/{reason.value}':<30} {switched}")
        return "\n".join(lines) + "\n"


def _outcome(record: SwitchoverRecord) -> str:
    took = record.interruption_seconds
    return f"{record.outcome}" + ("" if took is None else f", interruption {took:.0f}s")


@contextlib.contextmanager
def _interruptible(stop: asyncio.Event) -> Iterator[asyncio.Event]:
    """Ctrl-C (or SIGTERM) anywhere in the demo stops it cleanly; the event says it happened."""
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()

    def interrupt() -> None:
        interrupted.set()
        stop.set()

    sigs = (signal.SIGINT, signal.SIGTERM)
    for sig in sigs:
        loop.add_signal_handler(sig, interrupt)
    try:
        yield interrupted
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)


async def _finish_when_shown(
    narrator: Narrator, stop: asyncio.Event, forever: bool, listener: asyncio.Task[None]
) -> None:
    """The summary once everything was shown (or after DEMO_SECONDS); then stop, unless forever
    (the notifications still to come are then not printed after the summary)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(narrator.done.wait(), DEMO_SECONDS)
    narrator.out.write(narrator.summary())
    narrator.out.write("(--forever keeps the controller running)\n" if not forever else "")
    narrator.out.flush()
    if not forever:
        listener.cancel()
        stop.set()


async def _listen(heard: asyncio.Queue[Notification], narrator: Narrator, person: Person) -> None:
    """Each notification as the receiver got it; the person vetoes the first slot announced."""
    while True:
        note = await heard.get()
        narrator.heard(note)
        if person.wants_to_veto(note):
            narrator.said(person.command(), await person.veto())


def _fresh_journal(directory: Path, clock: ScaledClock) -> Path:
    """A fresh journal is the point of the demo: created here, so the controller does not open
    with the warning a real deployment gets when its history is missing."""
    journal = directory / "journal.db"
    with Journal.open(journal, now=clock.now()) as fresh:
        # As the controller marks a journal it created itself: its one target owned from the
        # start, not newly taken over from another replica (which would hold it a cooldown).
        fresh.set_owned_targets([IMPLICIT_TARGET], at=clock.now())
    return journal


def _announce(
    settings: Settings, dws_url: str, out: TextIO
) -> Callable[[FleetRunner, HttpServer], None]:
    def ready(_: FleetRunner, server: HttpServer) -> None:
        base = f"http://{settings.listen_host}:{server.port}"
        out.write(
            f"DWS emulator on {dws_url}; controller on {base}/ (metrics on {base}/metrics, "
            f"also /healthz, /readyz, /status?pretty=1)\n"
        )
        out.flush()

    return ready


async def run_demo(*, forever: bool, listen: str, speed: float, out: TextIO = sys.stdout) -> int:
    if speed <= 0:
        raise ConfigError("--speed must be positive")
    out.write(intro(speed))
    out.flush()
    configure_logging(fmt="console", level="warning", stream=sys.stderr)
    stop = asyncio.Event()
    heard: asyncio.Queue[Notification] = asyncio.Queue()
    with (
        _interruptible(stop) as interrupted,
        tempfile.TemporaryDirectory(prefix="dws-rebalancer-demo-") as tmp,
        database(out) as pg,
        receiver(heard.put_nowait) as notify_url,
    ):
        clock = ScaledClock(DEMO_START, speed)  # after the database: its start-up is no demo time
        sim = Simulator(clock, project_id=PROJECT, ak=AK, sk=SK)
        build_world(sim)
        with sql_endpoint(pg, sim, clock, out) as probe, BackgroundServer(sim) as dws:
            narrator = Narrator(clock, out, expect_probe=bool(probe))
            journal = _fresh_journal(Path(tmp), clock)
            settings = demo_settings(dws.url, journal, listen, probe, notify_url)
            person = Person(settings, clock, VETOED, VETO_REASON)
            listener = asyncio.create_task(_listen(heard, narrator, person))
            await _serve(settings, narrator, stop, forever=forever, speed=speed, listener=listener)
            listener.cancel()
    if interrupted.is_set():
        out.write(f"\n{INTERRUPTED}\n")
        out.flush()
        return 0
    return 0 if narrator.complete() else 1


async def _serve(
    settings: Settings,
    narrator: Narrator,
    stop: asyncio.Event,
    *,
    forever: bool,
    speed: float,
    listener: asyncio.Task[None],
) -> None:
    """The controller itself, narrated, until everything was shown (or for ever)."""
    watcher = asyncio.create_task(_finish_when_shown(narrator, stop, forever, listener))
    await serve_controller(
        settings,
        clock=narrator.clock,
        time_scale=speed,
        stop=stop,
        sinks=[narrator],
        on_ready=_announce(settings, settings.endpoint, narrator.out),
        handle_signals=False,
    )
    watcher.cancel()
