"""The journal sink: decision changes and every switchover row, durable where the loop needs it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from controller.journal import ApprovalKind, Journal
from controller.model import SwitchoverRecord
from controller.record.events import (
    DecisionMade,
    Event,
    ProbeFinished,
    SwitchoverConfirmed,
    SwitchoverFinished,
    SwitchoverPlanned,
    SwitchoverStarting,
)


class JournalSink:
    durable = True

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def handle(self, event: Event) -> Event | None:
        match event:
            case DecisionMade(decision=decision, changed=True):
                return replace(event, changed=self.journal.record_decision(decision))
            case SwitchoverStarting(record=record, request_id=request_id):
                begun = self.journal.begin_switchover(
                    record, request_id=request_id, approval_id=event.approval_id
                )
                return replace(event, record=begun)
            case SwitchoverPlanned(until=until, at=at) if until is not None and at is not None:
                return replace(event, announcement_id=self._announce(event, at, until))
            case SwitchoverConfirmed(record=record, at=at):
                self.journal.confirm_switchover(_id(record), at=at)
            case SwitchoverFinished(record=record):
                return replace(event, record=self._finish(record))
            case ProbeFinished(record=record, impact=impact):
                self.journal.record_client_impact(_id(record), impact)
        return None

    def _announce(self, event: SwitchoverPlanned, at: dt.datetime, until: dt.datetime) -> int:
        """The announcement row, durable before anyone is told: a veto must find what it vetoes."""
        row = self.journal.add_approval(
            ApprovalKind.ANNOUNCEMENT,
            event.cluster_id,
            at=at,
            until=until,
            by="controller",
            slot=event.slot,
        )
        return row.id

    def _finish(self, record: SwitchoverRecord) -> SwitchoverRecord:
        if record.ended is None or record.outcome is None:
            raise ValueError("a finished switchover needs its end and outcome")
        return self.journal.finish_switchover(
            _id(record),
            ended=record.ended,
            outcome=record.outcome,
            interruption_seconds=record.interruption_seconds,
            error=record.error,
        )


def _id(record: SwitchoverRecord) -> int:
    if record.id is None:  # the journal always assigns one; this guards against misuse
        raise ValueError("switchover record has no journal id")
    return record.id
