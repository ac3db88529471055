"""What the controller tells `/healthz`, `/readyz` and `/status`.

Health comes from the runner; the clusters from the one immutable snapshot the cycle published last.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from controller import __version__
from controller.config_types import format_duration
from controller.guards.approval import approval_state
from controller.loop.runner import CycleResult, Runner
from controller.loop.snapshot import ClusterView
from controller.model import ApprovalFacts, ApprovalMark, Caution, Decision, SwitchoverRecord


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


def cycle_json(cycle: CycleResult | None) -> dict[str, Any] | None:
    if cycle is None:
        return None
    return {
        "at": _iso(cycle.at),
        "ok": cycle.ok,
        "seconds": round(cycle.seconds, 3),
        "error": cycle.error,
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
        "load_at_trigger": None if record.load_at_trigger is None else dict(record.load_at_trigger),
        "client_interruption_seconds": (
            None if record.client is None else record.client.interruption_seconds
        ),
        "error": record.error,
    }


def _mark_json(mark: ApprovalMark | None) -> dict[str, Any] | None:
    if mark is None:
        return None
    return {
        "at": _iso(mark.at),
        "until": _iso(mark.until),
        "by": mark.by,
        "reason": mark.reason,
        "slot": _iso(mark.slot),
    }


def approval_json(facts: ApprovalFacts | None) -> dict[str, Any] | None:
    """The live approval, announcement and veto the last judgement saw (None: not read)."""
    if facts is None:
        return None
    return {
        "approval": _mark_json(facts.approval),
        "announcement": _mark_json(facts.announcement),
        "veto": _mark_json(facts.veto),
    }


class ControllerStatus:
    """The StatusSource the HTTP server reads. Never includes configuration secrets."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def health(self) -> tuple[bool, str]:
        """Is the LOOP alive, whatever DWS does (`/readyz` reports DWS trouble)?

        Alive while the current step (a cycle attempt, successful or failed, or a tracking
        read) started less than the runner's liveness limit ago, or, between steps, while the
        last one ended less than that ago. The limit covers the longest back-off plus a read
        that uses up its retry budget, so an outage of any length keeps the pod alive.
        """
        runner = self.runner
        if runner.last_turn is None:
            return False, "loop not started"
        now, limit, scale = runner.clock.monotonic(), runner.liveness_limit(), runner.time_scale
        if runner.step_started is not None:
            age = now - runner.step_started
            what = "current step (cycle or tracking read) started"
        else:
            age = now - runner.last_turn
            what = "last loop turn ended"
        if age > limit:
            return False, f"loop stuck: {what} {age / scale:.0f}s ago (limit {limit / scale:.0f}s)"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        if self.runner.last_success is None:
            return False, self.runner.last_error or "no cycle has reached DWS yet"
        if self.runner.failures:
            return False, f"last cycle failed: {self.runner.last_error}"
        return True, "ok"

    def status(self) -> dict[str, Any]:
        """The controller summary first, then one entry per cluster (README: "/status fields")."""
        return {
            "controller": self._controller(),
            "clusters": [self._cluster(view) for view in self.runner.reconciler.snapshot.clusters],
        }

    def _controller(self) -> dict[str, Any]:
        runner = self.runner
        rec, settings = runner.reconciler, runner.settings
        pause = rec.journal.pause_state()
        return {
            "version": __version__,
            "started": _iso(runner.started),
            "poll_interval": format_duration(settings.poll_interval),
            "tracking_interval": format_duration(settings.tracking_interval),
            "dry_run": settings.dry_run,
            "paused": settings.paused or pause.paused,
            "pause_reason": pause.reason,
            "last_cycle": cycle_json(runner.last_cycle),
            "last_success": _iso(runner.last_success),
            "last_error": runner.last_error,
            "consecutive_failures": runner.failures,
            # Set when the journal could not be read at start: every cluster is cooling down.
            "journal_unreadable_since": _iso(_unreadable_since(rec.caution)),
        }

    def _cluster(self, view: ClusterView) -> dict[str, Any]:
        cluster = view.cluster
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
            "tracked_switchover": switchover_json(view.tracked),
            "last_switchover": switchover_json(self._last_switchover(cluster.id)),
            "breaker": {
                "open": view.breaker_open,
                "consecutive_failures": failures,
                "limit": view.failure_limit,
            },
            "forbidden": view.forbidden,
            "approval": self._approval(view),
        }

    def _approval(self, view: ClusterView) -> dict[str, Any]:
        """The cluster's approval mode and, while it is unbalanced, its state and live marks."""
        policy = self.runner.reconciler.policy(view.cluster)
        facts = view.history.approval if view.history else None
        state = approval_state(policy, facts, facts.as_of) if facts is not None else None
        marks = approval_json(facts) or dict.fromkeys(("approval", "announcement", "veto"))
        return {"mode": policy.approval, "state": state, **marks}

    def _last_switchover(self, cluster_id: str) -> SwitchoverRecord | None:
        """The newest journaled switchover of the cluster (in flight or finished), if any."""
        recent = self.runner.reconciler.journal.switchovers(cluster_id=cluster_id, limit=1)
        return recent[-1] if recent else None


def _unreadable_since(caution: Caution | None) -> dt.datetime | None:
    return caution.since if caution is not None and caution.why == "journal unreadable" else None


class FleetStatus:
    """The StatusSource of a controller with several targets: one `ControllerStatus` each.

    Alive while every target's loop is; ready while at least one target reaches DWS (one
    region's outage must not take the pod's metrics out of its Service). `/status` keeps the
    controller summary and the clusters of every target, each naming its target, and adds one
    entry per target with its own cycle.
    """

    def __init__(self, runners: dict[str, Runner]) -> None:
        self.parts = {name: ControllerStatus(runner) for name, runner in runners.items()}

    def health(self) -> tuple[bool, str]:
        stuck = []
        for name, source in self.parts.items():
            alive, why = source.health()
            if not alive:
                stuck.append(f"{name}: {why}")
        return (False, "; ".join(stuck)) if stuck else (True, "ok")

    def ready(self) -> tuple[bool, str]:
        if not self.parts:  # an empty shard has nothing to reach: ready, its metrics served
            return True, "ok: this replica owns no target"
        answers = {name: s.ready() for name, s in self.parts.items()}
        failing = [f"{name}: {why}" for name, (ok, why) in answers.items() if not ok]
        if len(failing) < len(answers):
            return True, "ok" if not failing else f"ok; not ready: {'; '.join(failing)}"
        return False, "; ".join(failing)

    def status(self) -> dict[str, Any]:
        views = {name: s.status() for name, s in self.parts.items()}
        if not views:
            return {"controller": {"version": __version__}, "targets": [], "clusters": []}
        first = next(iter(views.values()))
        return {
            "controller": first["controller"] | _fleet_summary(views),
            "targets": [self._target(name, s, views[name]) for name, s in self.parts.items()],
            "clusters": [
                {"target": name, **cluster}
                for name, view in views.items()
                for cluster in view["clusters"]
            ],
        }

    @staticmethod
    def _target(name: str, source: ControllerStatus, view: dict[str, Any]) -> dict[str, Any]:
        settings, summary = source.runner.settings, view["controller"]
        caution = source.runner.reconciler.caution
        return {
            "name": name,
            "region": settings.region,
            "project_id": settings.project_id,
            "clusters": len(view["clusters"]),
            **{
                k: summary[k]
                for k in ("last_cycle", "last_success", "last_error", "consecutive_failures")
            },
            "caution": None
            if caution is None
            else {"since": _iso(caution.since), "why": caution.why},
        }


def _fleet_summary(views: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The controller-wide cycle facts: the latest cycle and success, the worst failure streak."""
    summaries = [view["controller"] for view in views.values()]
    successes = [s["last_success"] for s in summaries if s["last_success"]]
    errors = [s["last_error"] for s in summaries if s["last_error"]]
    cycles = [s["last_cycle"] for s in summaries if s["last_cycle"]]
    return {
        "last_cycle": max(cycles, key=lambda c: c["at"], default=None),
        "last_success": max(successes, default=None),
        "last_error": errors[0] if errors else None,
        "consecutive_failures": max(s["consecutive_failures"] for s in summaries),
    }
