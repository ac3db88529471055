"""What each recorder event tells people: a `Notice` (event name, dedupe key, facts), or nothing.

Pure: no I/O, no clock. The key names one happening so that it is delivered once per channel,
also across restarts: it is built from what the journal keeps (cluster id, the switchover's start,
the slot, the unbalanced-since time), never from the process's own counters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from controller.model import ClientImpact, Outcome, Reason, SwitchoverRecord
from controller.record.events import (
    BreakerOpened,
    ClusterStuck,
    CycleFailed,
    DecisionMade,
    Event,
    SwitchoverFinished,
    SwitchoverPlanned,
    SwitchoverStarted,
)

#: `unhealthy` is told once per failure streak: when the streak reaches this many cycles.
UNHEALTHY_AFTER = 3
_OUTCOME_EVENTS = {
    Outcome.SUCCEEDED: "succeeded",
    Outcome.FAILED: "failed",
    Outcome.TIMED_OUT: "timed_out",
    Outcome.REJECTED: "failed",  # DWS refused the POST: people hear it failed, and why
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell: `event` is a `notify.channels[].events` name, `key` its identity."""

    event: str
    key: str
    cluster_id: str | None = None
    cluster_name: str | None = None
    detail: str = ""
    at: dt.datetime | None = None  # the planned slot, or the stuck cluster's unbalanced-since
    seconds: float | None = None  # the control-plane interruption
    client: ClientImpact | None = None
    probed: bool = False  # a probe ran (or was due) for this switchover: say what clients felt
    next_eligible: dt.datetime | None = None
    consecutive: int | None = None
    record_id: int | None = None  # the switchover this notice reports, when it reports one


def notice_for(event: Event, last_finished: dict[str, str]) -> Notice | None:
    """The notice an event calls for, if any. `last_finished` maps cluster ids to the start of
    their last finished switchover (the breaker's key); the caller keeps it up to date."""
    match event:
        case SwitchoverStarted(record=record, origin=origin):
            detail = f"trigger {record.trigger.value}, {origin.value}"
            return _switchover("started", record, detail)
        case SwitchoverFinished(record=record, refusal=refusal):
            name = _OUTCOME_EVENTS.get(record.outcome) if record.outcome else None
            if name is None:
                return None
            detail = refusal.error if refusal is not None else (record.error or "")
            return _switchover(name, record, detail)
        case BreakerOpened(cluster_id=cid, cluster_name=name, consecutive_failures=failures):
            key = f"breaker_opened:{cid}:{last_finished.get(cid, 'unknown')}"
            return Notice("breaker_opened", key, cid, name, consecutive=failures)
        case DecisionMade(decision=d, changed=True) if d.reason is Reason.PERMISSION_DENIED:
            key = f"permission_denied:{d.cluster_id}:{_iso(d.at)}"
            return Notice(
                "permission_denied", key, d.cluster_id, d.cluster_name, d.detail,
                next_eligible=d.next_eligible,
            )  # fmt: skip
        case CycleFailed(at=at, consecutive=consecutive) if consecutive == UNHEALTHY_AFTER:
            detail = f"{event.kind}: {event.error}"
            return Notice(
                "unhealthy", f"unhealthy:{_iso(at)}", detail=detail, consecutive=consecutive
            )
        case SwitchoverPlanned(cluster_id=cid, cluster_name=name, slot=slot, detail=detail):
            return Notice("planned", f"planned:{cid}:{_iso(slot)}", cid, name, detail, at=slot)
        case ClusterStuck(cluster_id=cid, cluster_name=name, since=since):
            detail = f"{event.reason}: {event.detail}" if event.detail else event.reason
            return Notice("stuck", f"stuck:{cid}:{_iso(since)}", cid, name, detail, at=since)
    return None


def _switchover(name: str, record: SwitchoverRecord, detail: str) -> Notice:
    return Notice(
        name,
        f"{name}:{record.cluster_id}:{_iso(record.started)}",
        record.cluster_id,
        record.cluster_name,
        detail,
        seconds=record.interruption_seconds,
        client=record.client,
        record_id=record.id,
    )


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")
