"""A channel through Apprise: DingTalk, WeCom, Feishu/Lark, Slack, Teams, mail, json:// webhooks...

Apprise is synchronous, so each channel has its own single thread: a service that hangs holds
only its own channel's thread, never the event loop nor the default executor others share.
The URL comes from the settings, an environment variable or a file (re-read when it changes,
as a Secret volume is updated); the Apprise object is rebuilt whenever the URL changes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

import apprise

from controller.notify.channel import DeliveryError
from controller.notify.compose import Message

#: Apprise's own retry is off (`retry=0` by default): the worker retries with back-off.
_NOT_ACCEPTED = "the service did not accept the message (Apprise's log line says why)"


class AppriseChannel:
    def __init__(
        self, label: str, key: str, events: frozenset[str], url: Callable[[], str]
    ) -> None:
        self.label, self.key, self.events = label, key, events
        self._url = url
        self._built: tuple[str, apprise.Apprise] | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(1, f"notify-{label}")

    async def deliver(self, message: Message) -> None:
        loop = asyncio.get_running_loop()
        sent = await loop.run_in_executor(self._thread, self._send, message)
        if not sent:
            raise DeliveryError(_NOT_ACCEPTED, retryable=True)

    def _send(self, message: Message) -> bool:
        # `url()` raises DeliveryError itself when a URL file cannot be read.
        return bool(self._notifier().notify(body=message.body, title=message.subject))

    def _notifier(self) -> apprise.Apprise:
        url = self._url()
        if self._built is None or self._built[0] != url:
            notifier = apprise.Apprise()
            if not notifier.add(url):
                raise DeliveryError("Apprise cannot parse the URL", retryable=False)
            self._built = (url, notifier)
        return self._built[1]

    async def aclose(self) -> None:
        # A thread stuck in a hanging service is not waited for: its connect/read timeouts end it.
        self._thread.shutdown(wait=False, cancel_futures=True)
