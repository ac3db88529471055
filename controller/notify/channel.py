"""What a channel is to the worker: a label, a dedupe key, its events, and `deliver` that may fail.

`label` names the channel in metrics and logs (`json#0`, `smn#2`: its kind and index, never its
URL); `key` names it in the journal across restarts (a hash prefix of the URL, or the SMN topic).
"""

from __future__ import annotations

from typing import Protocol

from controller.notify.compose import Message


class DeliveryError(Exception):
    """A delivery failed; `retryable` says whether trying again may help (a 5xx, a timeout).

    The message says what went wrong in our words: never a URL, a token or a response header.
    """

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.retryable = retryable


class Channel(Protocol):
    label: str
    key: str
    events: frozenset[str]

    async def deliver(self, message: Message) -> None:
        """Send one message; raise DeliveryError when it did not arrive."""
        ...

    async def aclose(self) -> None: ...
