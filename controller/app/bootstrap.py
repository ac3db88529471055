"""Assembling a controller from settings: actor lock, journal (the unreadable rule), client, metrics."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from controller.app.credentials import auth_from_settings
from controller.clock import Clock, SystemClock
from controller.dws.client import DwsClient
from controller.guards.load import gated
from controller.journal import MEMORY, ActorLock, Journal, JournalUnreadable
from controller.load.sources import LoadSources
from controller.loop.cycle import Reconciler
from controller.loop.deps import LoopDeps
from controller.notify.notifier import running_notifier
from controller.notify.sink import NotifySink
from controller.record.metrics import Metrics
from controller.record.recorder import Recorder, Sink
from controller.record.sinks.journal import JournalSink
from controller.record.sinks.log import LogSink
from controller.record.sinks.metrics import MetricsSink
from controller.settings import Settings

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("controller.app.bootstrap")


class Access(StrEnum):
    """How a command uses the journal."""

    #: `run`, `once`, `switchover`: hold the actor lock, create or migrate the journal.
    ACT = "act"
    #: `status`: read only; a missing journal is an empty history and is not created.
    READ = "read"


def open_journal(
    settings: Settings, now: dt.datetime, *, reset: bool = False
) -> tuple[Journal, dt.datetime | None]:
    """The journal, and the caution time when it could not be read.

    An unreadable journal is never replaced silently: the controller runs on an in-memory journal
    and treats every cluster as switched over at start-up (one cooldown), until the file is moved
    aside or `--reset-journal` keeps it as a backup.
    """
    path = settings.journal_path
    if reset and path.exists():
        backup = Journal.reset(path, now=now)
        log.warning("journal_reset", path=str(path), backup=str(backup))
    try:
        journal = Journal.open(path, now=now)
    except JournalUnreadable as exc:
        fix = "move the file aside or start with --reset-journal (keeps a backup)"
        return _in_memory_with_caution(path, exc, now, fix=fix)
    if journal.created:
        log.warning("starting_without_history", path=str(path))
    return journal, None


def read_journal(settings: Settings, now: dt.datetime) -> tuple[Journal, dt.datetime | None]:
    """The journal opened read-only, and the caution time when it could not be read.

    Never creates, migrates or writes the file: a missing one is an empty in-memory history.
    """
    path = settings.journal_path
    if not path.exists():
        return Journal.open(MEMORY, now=now), None
    try:
        return Journal.open_read_only(path), None
    except JournalUnreadable as exc:
        return _in_memory_with_caution(path, exc, now)


def _in_memory_with_caution(
    path: Path, exc: JournalUnreadable, now: dt.datetime, **advice: str
) -> tuple[Journal, dt.datetime]:
    """An unreadable journal: said loudly, and every cluster treated as switched over `now`."""
    log.error(
        "journal_unreadable",
        path=str(path),
        error=str(exc),
        consequence="no history: every cluster is treated as switched over now (one cooldown)",
        **advice,
    )
    return Journal.open(MEMORY, now=now), now


@dataclass
class Parts:
    settings: Settings
    client: DwsClient
    journal: Journal
    metrics: Metrics
    reconciler: Reconciler


@contextlib.asynccontextmanager
async def assemble(
    settings: Settings,
    *,
    clock: Clock | None = None,
    auth_clock: Clock | None = None,
    access: Access = Access.ACT,
    reset_journal: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    sinks: Sequence[Sink] = (),
    time_scale: float = 1.0,
) -> AsyncIterator[Parts]:
    """Everything a command needs, closed in the right order on the way out.

    `sinks` are added after the journal, metrics and log sinks (the demo's narrator).

    `Access.ACT` raises `JournalInUse` while another process acts on the same journal.
    """
    clock = clock or SystemClock()
    metrics = Metrics()
    with contextlib.ExitStack() as held:
        if access is Access.ACT:
            if str(settings.journal_path) != MEMORY:  # before a reset: never move one in use
                held.enter_context(ActorLock.acquire(settings.journal_path))
            journal, caution = open_journal(settings, clock.now(), reset=reset_journal)
        else:
            journal, caution = read_journal(settings, clock.now())
        held.enter_context(journal)  # closed before the lock is released
        async with (
            dws_client(settings, auth_clock, transport, metrics) as client,
            load_sources(settings, client, transport) as load,
            notifications(settings, access, client, journal, metrics, clock, transport) as notify,
        ):
            recorder = record_to(journal, metrics, [*sinks, *([notify] if notify else [])])
            deps = LoopDeps(settings, client, journal, recorder, clock, time_scale, load)
            reconciler = Reconciler(deps, caution_since=caution)
            yield Parts(settings, client, journal, metrics, reconciler)


def notifications(
    settings: Settings,
    access: Access,
    client: DwsClient,
    journal: Journal,
    metrics: Metrics,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None,
) -> contextlib.AbstractAsyncContextManager[NotifySink | None]:
    """The notification sink and its workers (SMN signed like DWS); `status` reads, so only an
    actor tells people."""
    return running_notifier(
        settings,
        auth=client.auth,
        journal=journal,
        metrics=metrics,
        clock=clock,
        transport=transport,
        enabled=access is Access.ACT,
    )


@contextlib.asynccontextmanager
async def load_sources(
    settings: Settings, client: DwsClient, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[LoadSources | None]:
    """Cloud Eye and Prometheus, signed like DWS, when some policy has a load gate; else None."""
    if not any(gated(policy) for policy in settings.policies()):
        yield None
        return
    sources = LoadSources(settings, client.auth, transport)
    try:
        yield sources
    finally:
        await sources.aclose()


def record_to(journal: Journal, metrics: Metrics, extra: Sequence[Sink] = ()) -> Recorder:
    """The recorder and its sinks, in order: the journal first (the durable row), then the rest.
    A new sink is one module in `controller/record/sinks/` plus one line here."""
    return Recorder([JournalSink(journal), MetricsSink(metrics), LogSink(), *extra])


def dws_client(
    settings: Settings,
    auth_clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    metrics: Metrics | None = None,
) -> DwsClient:
    """The DWS client alone (`check-config` needs no journal); use it as an async context."""
    clock = auth_clock or SystemClock()
    return DwsClient(
        endpoint=settings.endpoint,
        project_id=settings.project_id,
        auth=auth_from_settings(settings, clock),
        timeout=settings.request_timeout.total_seconds(),
        transport=transport,
        on_request=None if metrics is None else metrics.observe_api_request,
        on_unexpected=None if metrics is None else metrics.observe_unexpected_response,
        clock=clock,
    )
