"""Rows and SQL: domain objects to and from journal rows, and the statements that use them."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from controller.journal.records import EventKind, OperatorEvent, RequestState, SwitchoverRequest
from controller.model import (
    Action,
    ClientImpact,
    Decision,
    Outcome,
    Reason,
    SwitchoverRecord,
    Trigger,
)

#: Error texts come from API bodies that can be whole HTML pages; the journal keeps the start.
_ERROR_MAX_CHARS = 2000


# -- values ------------------------------------------------------------------------------------


def utc(moment: dt.datetime) -> dt.datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"the journal needs timezone-aware times, got naive {moment.isoformat()}")
    return moment.astimezone(dt.UTC)


def text(moment: dt.datetime) -> str:
    """ISO-8601 UTC with fixed width, so text order is time order."""
    return utc(moment).isoformat(timespec="microseconds")


def opt_text(moment: dt.datetime | None) -> str | None:
    return None if moment is None else text(moment)


def time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def opt_time(value: str | None) -> dt.datetime | None:
    return None if value is None else time(value)


def clip(error: str | None) -> str | None:
    return None if error is None else error[:_ERROR_MAX_CHARS]


def filters(cluster_id: str | None, since: dt.datetime | None, limit: int | None) -> dict[str, Any]:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")
    return {
        "cluster": cluster_id,
        "since": opt_text(since),
        "limit": -1 if limit is None else limit,
    }


# -- rows --------------------------------------------------------------------------------------


def switchover_row(record: SwitchoverRecord) -> dict[str, Any]:
    return {
        "cluster_id": record.cluster_id,
        "cluster_name": record.cluster_name,
        "trigger": record.trigger.value,
        "started": text(record.started),
        "confirmed": int(record.confirmed),
        "ended": opt_text(record.ended),
        "outcome": None if record.outcome is None else record.outcome.value,
        "interruption_seconds": record.interruption_seconds,
        "error": clip(record.error),
        "load_at_trigger": None
        if record.load_at_trigger is None
        else json.dumps(dict(record.load_at_trigger), sort_keys=True),
    }


def switchover(row: sqlite3.Row) -> SwitchoverRecord:
    return SwitchoverRecord(
        id=row["id"],
        cluster_id=row["cluster_id"],
        cluster_name=row["cluster_name"],
        trigger=Trigger(row["trigger"]),
        started=time(row["started"]),
        ended=opt_time(row["ended"]),
        outcome=None if row["outcome"] is None else Outcome(row["outcome"]),
        interruption_seconds=row["interruption_seconds"],
        error=row["error"],
        confirmed=bool(row["confirmed"]),
        client=client_impact(row),
        load_at_trigger=load_at_trigger(row),
    )


def load_at_trigger(row: sqlite3.Row) -> dict[str, float] | None:
    """The load values a switchover was triggered under; None when older or unreadable."""
    text = row["load_at_trigger"] if "load_at_trigger" in row.keys() else None  # noqa: SIM118
    if not text:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float)}


def client_impact(row: sqlite3.Row) -> ClientImpact | None:
    # A journal older than schema v3 (read, never migrated, by `status`) has no such columns.
    if "probe_samples" not in row.keys() or row["probe_samples"] is None:  # noqa: SIM118 (Row: `in` tests values)
        return None
    return ClientImpact(
        interruption_seconds=row["client_interruption_seconds"],
        failed_seconds=row["client_failed_seconds"] or 0.0,
        first_failure=opt_time(row["client_first_failure"]),
        recovery=opt_time(row["client_recovery"]),
        samples=row["probe_samples"],
    )


def decision_row(decision: Decision) -> dict[str, Any]:
    return {
        "cluster_id": decision.cluster_id,
        "cluster_name": decision.cluster_name,
        "action": decision.action.value,
        "reason": decision.reason.value,
        "detail": decision.detail,
        "at": text(decision.at),
        "next_eligible": opt_text(decision.next_eligible),
    }


def decision(row: sqlite3.Row) -> Decision:
    return Decision(
        cluster_id=row["cluster_id"],
        cluster_name=row["cluster_name"],
        action=Action(row["action"]),
        reason=Reason(row["reason"]),
        detail=row["detail"],
        at=time(row["at"]),
        next_eligible=opt_time(row["next_eligible"]),
    )


def event(row: sqlite3.Row) -> OperatorEvent:
    return OperatorEvent(
        kind=EventKind(row["kind"]),
        at=time(row["at"]),
        cluster_id=row["cluster_id"],
        by=row["actor"],
        reason=row["reason"],
    )


def request(row: sqlite3.Row) -> SwitchoverRequest:
    return SwitchoverRequest(
        id=row["id"],
        cluster=row["cluster"],
        ignore_window=bool(row["ignore_window"]),
        requested_at=time(row["requested_at"]),
        by=row["actor"],
        state=RequestState(row["state"]),
        handled_at=opt_time(row["handled_at"]),
        switchover_id=row["switchover_id"],
        reason=row["reason"],
        detail=row["detail"],
    )


# -- statements --------------------------------------------------------------------------------

INSERT_SWITCHOVER = """
INSERT INTO switchovers (cluster_id, cluster_name, trigger, started, confirmed, ended, outcome,
                         interruption_seconds, error, load_at_trigger)
VALUES (:cluster_id, :cluster_name, :trigger, :started, :confirmed, :ended, :outcome,
        :interruption_seconds, :error, :load_at_trigger)"""
INSERT_DECISION = """
INSERT INTO decisions (cluster_id, cluster_name, action, reason, detail, at, next_eligible)
VALUES (:cluster_id, :cluster_name, :action, :reason, :detail, :at, :next_eligible)"""
# A rename is recorded only when the name differs, so the per-cycle call writes nothing.
# A cluster seen by another target than recorded (a journal from before targets, now read by a
# named one) moves to it with its history: its rows follow through cluster_id.
UPSERT_NAME = """
INSERT INTO clusters (cluster_id, name, named_at, target) VALUES (?, ?, ?, ?)
ON CONFLICT (cluster_id) DO UPDATE SET
    name = excluded.name, named_at = excluded.named_at, target = excluded.target
WHERE (excluded.name <> clusters.name OR excluded.target <> clusters.target)
    AND excluded.named_at >= clusters.named_at"""
# "Most recent :limit, oldest first": newest-first inner query, re-sorted outside. LIMIT -1 = all.
SELECT_SWITCHOVERS = """
SELECT * FROM (
    SELECT * FROM switchovers
    WHERE (:cluster IS NULL OR cluster_id = :cluster) AND (:since IS NULL OR started >= :since)
    ORDER BY started DESC, id DESC LIMIT :limit
) ORDER BY started, id"""
SELECT_DECISIONS = """
SELECT * FROM (
    SELECT * FROM decisions
    WHERE (:cluster IS NULL OR cluster_id = :cluster) AND (:since IS NULL OR at >= :since)
    ORDER BY id DESC LIMIT :limit
) ORDER BY id"""
SELECT_OPERATOR_EVENTS = """
SELECT * FROM (
    SELECT * FROM operator_events
    WHERE (:cluster IS NULL OR cluster_id IS NULL OR cluster_id = :cluster)
      AND (:since IS NULL OR at >= :since)
    ORDER BY id DESC LIMIT :limit
) ORDER BY id"""
SELECT_FINISHED_SINCE_RESET = """
SELECT outcome FROM switchovers
WHERE cluster_id = :cluster AND outcome IS NOT NULL
  AND ended > coalesce((SELECT max(at) FROM operator_events
                        WHERE kind = 'breaker_reset' AND cluster_id = :cluster), '')
ORDER BY ended DESC, id DESC"""
SELECT_LAST_PAUSE = """
SELECT * FROM operator_events WHERE kind IN ('pause', 'resume') ORDER BY id DESC LIMIT 1"""
# The latest decision per cluster survives: record_decision compares against it.
PRUNE_DECISIONS = """
DELETE FROM decisions
WHERE at < ? AND id NOT IN (SELECT max(id) FROM decisions GROUP BY cluster_id)"""
