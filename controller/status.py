"""What the controller tells `/healthz`, `/readyz` and `/status`: derived from the runner's live state."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from controller.model import Decision, SwitchoverRecord
from controller.reconcile import ClusterView
from controller.runner import Runner


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


def decision_json(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "action": decision.action.value,
        "reason": decision.reason.value,
        "detail": decision.detail,
        "at": _iso(decision.at),
        "next_eligible": _iso(decision.next_eligible),
    }


def switchover_json(record: SwitchoverRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "id": record.id,
        "trigger": record.trigger.value,
        "started": _iso(record.started),
        "ended": _iso(record.ended),
        "outcome": record.outcome.value if record.outcome else None,
        "confirmed": record.confirmed,
        "interruption_seconds": record.interruption_seconds,
        "error": record.error,
    }


class ControllerStatus:
    """The StatusSource the HTTP server reads. Never includes configuration secrets."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def health(self) -> tuple[bool, str]:
        beat = self.runner.heartbeat
        limit = 3 * self.runner.settings.poll_interval.total_seconds() / self.runner.time_scale
        if beat is None:
            return False, "loop not started"
        age = time.monotonic() - beat
        if age > limit:
            return False, f"loop heartbeat {age:.0f}s old (limit {limit:.0f}s)"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        if self.runner.last_success is None:
            return False, self.runner.last_error or "no cycle has reached DWS yet"
        if self.runner.failures:
            return False, f"last cycle failed: {self.runner.last_error}"
        return True, "ok"

    def status(self) -> dict[str, Any]:
        rec = self.runner.reconciler
        pause = rec.journal.pause_state()
        return {
            "paused": rec.settings.paused or pause.paused,
            "pause_reason": pause.reason,
            "dry_run": rec.settings.dry_run,
            "last_cycle_success": _iso(self.runner.last_success),
            "last_error": self.runner.last_error,
            # Set when the journal could not be read at start: every cluster is cooling down.
            "journal_unreadable_since": _iso(rec.caution_since),
            "clusters": [
                self._cluster(view)
                for view in sorted(rec.views.values(), key=lambda v: v.cluster.name)
            ],
        }

    def _cluster(self, view: ClusterView) -> dict[str, Any]:
        rec = self.runner.reconciler
        cluster = view.cluster
        limit = rec.policy(cluster).failure_limit
        failures = view.history.consecutive_failures if view.history else 0
        return {
            "id": cluster.id,
            "name": cluster.name,
            "status": cluster.status,
            "sub_status": sorted(cluster.sub_status),
            "task_status": cluster.task_status,
            "version": cluster.raw_version,
            "window_open": view.window_open,
            "decision": decision_json(view.decision),
            "tracked_switchover": switchover_json(rec.tracked.get(cluster.id)),
            "breaker": {
                "open": view.breaker_open,
                "consecutive_failures": failures,
                "limit": limit,
            },
            "forbidden": rec.switchovers.forbidden.get(cluster.id),
        }
