"""Assembling a controller from settings: journal (with the unreadable-journal rule), client, metrics."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from controller.clock import Clock, SystemClock
from controller.dws.client import DwsClient
from controller.journal import Journal, JournalUnreadable
from controller.metrics import Metrics
from controller.model import Decision, SwitchoverRecord
from controller.reconcile import Reconciler
from controller.settings import Settings

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("controller.bootstrap")


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
        log.error(
            "journal_unreadable",
            path=str(path),
            error=str(exc),
            consequence="no history: every cluster is treated as switched over now (one cooldown)",
            fix="move the file aside or start with --reset-journal (keeps a backup)",
        )
        return Journal.open(":memory:", now=now), now
    if journal.created:
        log.warning("starting_without_history", path=str(path))
    return journal, None


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
    reset_journal: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    on_decision: Callable[[Decision], None] | None = None,
    on_switchover: Callable[[SwitchoverRecord], None] | None = None,
) -> AsyncIterator[Parts]:
    """Everything a command needs, closed in the right order on the way out."""
    clock = clock or SystemClock()
    metrics = Metrics()
    journal, caution = open_journal(settings, clock.now(), reset=reset_journal)
    try:
        client = DwsClient.from_settings(
            settings,
            clock=auth_clock or SystemClock(),
            transport=transport,
            on_request=metrics.observe_api_request,
        )
        async with client:
            reconciler = Reconciler(
                settings,
                client,
                journal,
                metrics,
                caution_since=caution,
                on_decision=on_decision,
                on_switchover=on_switchover,
            )
            yield Parts(settings, client, journal, metrics, reconciler)
    finally:
        journal.close()
