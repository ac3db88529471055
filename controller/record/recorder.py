"""The one place events are written: `Recorder.record` hands each event to every sink, in order.

A sink that fails is logged and skipped, so a broken metrics, log or notification sink never
silences the others nor stops the loop. A durable sink (the journal, the controller's memory) is
different: whatever it cannot write propagates, as a journal error always did, so a cycle whose
journal fails stops there, and a switchover whose row cannot be written before the POST is not sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import structlog

from controller.record.events import Event

log = structlog.get_logger("controller.record.recorder")

E = TypeVar("E", bound=Event)


class Sink(Protocol):
    """Writes events somewhere. `handle` may return a completed copy of the event (or None)."""

    #: True for the journal: anything it cannot write must stop the caller.
    durable: bool

    def handle(self, event: Event) -> Event | None: ...


class Recorder:
    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = tuple(sinks)

    def record(self, event: E) -> E:
        """Write `event` to every sink; returns it as the sinks completed it."""
        for sink in self.sinks:
            try:
                answer = sink.handle(event)
            except Exception as exc:
                if sink.durable:
                    raise
                log.error(
                    "sink_failed",
                    sink=type(sink).__name__,
                    event_type=type(event).__name__,
                    error=str(exc),
                    error_type=type(exc).__name__,
                )
                continue
            if isinstance(answer, type(event)):
                event = answer
        return event
