"""The notifier: one worker task per channel, started with the controller and drained when it stops.

`offer` composes a notice once and hands it to every channel subscribed to its event. On stop
the workers get `DRAIN_SECONDS` to empty their queues; whatever is left is counted `abandoned`
(a notification must never hold a controller that was asked to stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import httpx
import structlog

from controller.clock import Clock
from controller.journal import Journal, JournalError
from controller.notify.channel import Channel
from controller.notify.channels import build_channels
from controller.notify.compose import Target, compose
from controller.notify.notices import Notice
from controller.notify.sink import NotifySink, target_of
from controller.notify.worker import Item, Worker
from controller.record.metrics import NotificationMetrics
from controller.settings import Settings

log = structlog.get_logger("controller.notify.notifier")

DRAIN_SECONDS = 5.0
#: Delivery rows older than this are forgotten: no event is recorded again after so long.
RETENTION = dt.timedelta(days=35)


class Notifier:
    def __init__(self, workers: Sequence[Worker], target: Target) -> None:
        self.workers = tuple(workers)
        self.target = target
        self._tasks: list[asyncio.Task[None]] = []
        self.sinks: list[NotifySink] = []

    def sink_for(self, settings: Settings) -> NotifySink:
        """The recorder sink of one target (its settings say its project, region, probe)."""
        sink = NotifySink(self, settings)
        self.sinks.append(sink)
        return sink

    def offer(self, notice: Notice, target: Target | None = None) -> None:
        """Queue the notice on every channel subscribed to its event; no I/O. `target` names
        the project and region of the target it is about (default: the configuration's)."""
        wanted = [w for w in self.workers if notice.event in w.channel.events]
        if not wanted:
            return
        item = Item(notice.key, notice.event, compose(notice, target or self.target))
        for worker in wanted:
            worker.offer(item)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(w.run(), name=f"notify-{w.channel.label}") for w in self.workers
        ]

    async def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Deliver what is queued for at most `drain_seconds`, then give up on the rest."""
        for worker in self.workers:
            worker.close()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=drain_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        left = sum(worker.abandon() for worker in self.workers)
        if left:
            log.warning("notifications_abandoned", count=left, drain_seconds=drain_seconds)
        for worker in self.workers:
            await worker.channel.aclose()


@contextlib.asynccontextmanager
async def running_notifier(
    settings: Settings,
    *,
    auth: httpx.Auth,
    journal: Journal,
    metrics: NotificationMetrics,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    enabled: bool = True,
) -> AsyncIterator[Notifier | None]:
    """The notifier, its workers running while the controller runs (None without channels);
    each target records through its `sink_for`. On the way out, held messages are queued and
    the queues drained."""
    if not (enabled and settings.notify.channels):
        yield None
        return
    channels = build_channels(settings, auth, transport)
    notifier = Notifier(
        [_worker(c, journal, metrics, clock) for c in channels], target_of(settings)
    )
    _prune(journal, clock.now())
    notifier.start()
    try:
        yield notifier
    finally:
        for sink in notifier.sinks:
            sink.flush()
        await notifier.stop()


def _worker(
    channel: Channel, journal: Journal, metrics: NotificationMetrics, clock: Clock
) -> Worker:
    metrics.declare_notification_channel(channel.label, sorted(channel.events))
    return Worker(channel, journal=journal, count=metrics.count_notification, clock=clock)


def _prune(journal: Journal, now: dt.datetime) -> None:
    try:
        journal.prune_notifications(before=now - RETENTION)
    except JournalError as exc:
        log.warning("notification_journal_unwritable", error=str(exc))
