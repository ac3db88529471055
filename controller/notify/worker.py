"""One channel's delivery: a bounded queue, de-duplication through the journal, a rate limit, retries.

`offer` is what the recorder's sink calls: O(1), no I/O; when the queue is full the oldest
waiting message is dropped (and counted), since a late notification about a cluster is worth
less than the newest. The worker task delivers one message at a time: asks the journal whether
this event already reached this channel, waits for the token bucket, then tries with exponential
back-off (stamina) while the failure is worth another try, and writes the outcome to the journal.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import stamina
import structlog

from controller.clock import Clock
from controller.journal import Journal, JournalError
from controller.notify.channel import Channel, DeliveryError
from controller.notify.compose import Message
from controller.notify.ratelimit import TokenBucket

log = structlog.get_logger("controller.notify.worker")

QUEUE_SIZE = 100

#: Counts an outcome: (channel label, event, outcome).
Count = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Retry:
    """How hard one message is tried: attempts, and the exponential back-off between them."""

    attempts: int = 5
    wait_initial: float = 2.0
    wait_max: float = 60.0
    wait_jitter: float = 1.0


@dataclass(frozen=True)
class Item:
    key: str
    event: str
    message: Message


class Worker:
    def __init__(
        self,
        channel: Channel,
        *,
        journal: Journal,
        count: Count,
        clock: Clock,
        bucket: TokenBucket | None = None,
        retry: Retry | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.channel = channel
        self._journal, self._count, self._clock = journal, count, clock
        self._bucket = bucket or TokenBucket()
        self._retry = retry or Retry()
        self._queue: collections.deque[Item] = collections.deque()
        self._size = queue_size
        self._wake = asyncio.Event()
        self._closing = False
        self._current: Item | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def offer(self, item: Item) -> None:
        """Queue `item` for delivery (the sink's only call): never blocks, never does I/O."""
        if len(self._queue) >= self._size:
            old = self._queue.popleft()
            self._count(self.channel.label, old.event, "dropped")
            log.warning("notification_dropped", channel=self.channel.label, notice=old.event)
        self._queue.append(item)
        self._signal()

    def close(self) -> None:
        """No more offers: `run` returns once the queue is empty."""
        self._closing = True
        self._signal()

    def abandon(self) -> int:
        """Count what is still queued as abandoned (the drain ran out of time); how many."""
        if self._current is not None:  # cancelled mid-delivery (or mid back-off)
            self._queue.appendleft(self._current)
            self._current = None
        left = len(self._queue)
        while self._queue:
            self._count(self.channel.label, self._queue.popleft().event, "abandoned")
        return left

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            self._current = self._queue.popleft()
            await self._handle(self._current)
            self._current = None

    def _signal(self) -> None:
        loop = self._loop
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing waits any more
            if loop is not None and not _in(loop):
                loop.call_soon_threadsafe(self._wake.set)
                return
        self._wake.set()

    async def _handle(self, item: Item) -> None:
        if self._already_sent(item):
            self._count(self.channel.label, item.event, "duplicate")
            return
        await self._rate_limit()
        try:
            attempts = await self._deliver(item.message)
        except DeliveryError as exc:
            self._finish(item, "failed")
            log.warning(
                "notification_failed",
                channel=self.channel.label,
                notice=item.event,
                error=str(exc),
                retryable=exc.retryable,
            )
            return
        self._finish(item, "sent")
        log.debug(
            "notification_sent", channel=self.channel.label, notice=item.event, attempts=attempts
        )

    async def _deliver(self, message: Message) -> int:
        """Deliver with back-off; the number of attempts it took. Raises the last DeliveryError."""
        retry, tries = self._retry, 0
        async for attempt in stamina.retry_context(
            on=_worth_another_try,
            attempts=retry.attempts,
            timeout=None,
            wait_initial=retry.wait_initial,
            wait_max=retry.wait_max,
            wait_jitter=retry.wait_jitter,
        ):
            with attempt:
                tries += 1
                await self.channel.deliver(message)
        return tries

    async def _rate_limit(self) -> None:
        # A bucket is a computed wait, not a condition another task sets: no Event to await.
        while (wait := self._bucket.wait(self._clock.monotonic())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    def _already_sent(self, item: Item) -> bool:
        try:
            return self._journal.notification_sent(item.key, self.channel.key)
        except JournalError as exc:  # unknown: deliver (a duplicate beats silence)
            log.warning("notification_journal_unreadable", error=str(exc))
            return False

    def _finish(self, item: Item, outcome: str) -> None:
        self._count(self.channel.label, item.event, outcome)
        try:
            self._journal.record_notification(
                item.key, self.channel.key, outcome=outcome, at=self._clock.now()
            )
        except JournalError as exc:
            log.warning("notification_journal_unwritable", error=str(exc))


def _worth_another_try(exc: Exception) -> bool:
    return isinstance(exc, DeliveryError) and exc.retryable


def _in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
