"""Test kit for observability: clusters, a synthetic controller scenario, a server on its own thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.registry import CollectorRegistry

from controller.http.server import ASGIApp, HttpServer
from controller.model import (
    Action,
    ClientImpact,
    Cluster,
    Decision,
    Outcome,
    Reason,
    SwitchoverRecord,
    Trigger,
    Version,
)
from controller.record.events import LoadReading
from controller.record.metrics import Metrics

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
VERSIONS = {"dws-a": "8.2.1.230", "dws-b": "8.1.3.100", "dws-c": "9.1.0.200"}


def cluster(name: str, *, unbalanced: bool = False, version: str | None = None) -> Cluster:
    raw = version or VERSIONS.get(name, "8.2.1.230")
    return Cluster(
        id=f"id-{name}",
        name=name,
        status="AVAILABLE",
        sub_status=frozenset({"UNBALANCED"} if unbalanced else {"NORMAL"}),
        version=Version.parse(raw),
        raw_version=raw,
    )


def decision(
    name: str,
    action: Action,
    reason: Reason,
    at: dt.datetime = T0,
    next_eligible: dt.datetime | None = None,
) -> Decision:
    return Decision(
        cluster_id=f"id-{name}",
        cluster_name=name,
        action=action,
        reason=reason,
        detail=f"{reason.value} for {name}",
        at=at,
        next_eligible=next_eligible,
    )


def switchover(
    name: str,
    started: dt.datetime = T0,
    *,
    outcome: Outcome | None = None,
    seconds: float | None = None,
    trigger: Trigger = Trigger.CONTROLLER,
) -> SwitchoverRecord:
    ended = None if outcome is None else started + dt.timedelta(seconds=seconds or 30)
    return SwitchoverRecord(
        cluster_id=f"id-{name}",
        cluster_name=name,
        trigger=trigger,
        started=started,
        ended=ended,
        outcome=outcome,
        interruption_seconds=seconds,
    )


def samples(registry: CollectorRegistry, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample called `name`, keyed by its label set."""
    return {
        frozenset(s.labels.items()): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == name
    }


# -- the synthetic scenario ----------------------------------------------------------------------

B, N, S = Action.BLOCKED, Action.NONE, Action.SWITCHOVER
BALANCED = (N, Reason.NOT_UNBALANCED)


@dataclass(frozen=True)
class Cycle:
    """One poll of a pretend controller: who is unbalanced, what it decided, what happened."""

    unbalanced: frozenset[str] = frozenset()
    decisions: Mapping[str, tuple[Action, Reason]] = field(default_factory=dict)
    started: tuple[str, ...] = ()
    finished: Mapping[str, tuple[Outcome, float]] = field(default_factory=dict)
    breaker_open: frozenset[str] = frozenset()
    probed: Mapping[str, float] = field(default_factory=dict)  # what clients felt, by cluster
    api: tuple[tuple[str, str], ...] = (("list_clusters", "200"),)
    error: str | None = None  # the cycle failed with this kind, observing nothing
    load: tuple[LoadReading, ...] = ()  # the load gate's reads of the candidates
    #: Approval states by cluster (None: none applies any more), with a slot when announced.
    approvals: Mapping[str, str | None] = field(default_factory=dict)
    notified: tuple[tuple[str, str], ...] = ()  # (event, outcome) on NOTIFY_CHANNEL


NOTIFY_CHANNEL, NOTIFY_EVENTS = "json#0", ("planned", "started", "succeeded", "failed")
_AC = frozenset({"dws-a", "dws-c"})
_C = frozenset({"dws-c"})
#: A block, a successful switchover (dws-a), a failed cycle and a failed switchover (dws-c).
#: dws-a and dws-c are under approval: announce (dws-a announced, then its slot reached; dws-c
#: at its slot, and so to the end); the notifications of the switchovers go to one channel.
SCENARIO: tuple[Cycle, ...] = (
    Cycle(
        _AC,
        {"dws-a": (B, Reason.OUTSIDE_WINDOW), "dws-b": BALANCED, "dws-c": (B, Reason.COOLDOWN)},
        approvals={"dws-a": "not_announced"},
    ),
    Cycle(
        _AC,
        {"dws-a": (B, Reason.OUTSIDE_WINDOW), "dws-b": BALANCED, "dws-c": (B, Reason.COOLDOWN)},
        approvals={"dws-a": "announced"},
        notified=(("planned", "sent"),),
    ),
    Cycle(
        _AC,
        {"dws-a": (S, Reason.ELIGIBLE), "dws-b": BALANCED, "dws-c": (B, Reason.COOLDOWN)},
        started=("dws-a",),
        api=(("list_clusters", "200"), ("switchover", "200")),
        load=(LoadReading("dws-a", "dws-a", {"dws008_active_sql_count": 4.0}, None, "ok"),),
        approvals={"dws-a": "approved"},
        notified=(("started", "sent"),),
    ),
    Cycle(
        _AC,
        {
            "dws-a": (B, Reason.SWITCHOVER_IN_PROGRESS),
            "dws-b": BALANCED,
            "dws-c": (B, Reason.COOLDOWN),
        },
        api=(("list_clusters", "200"), ("get_cluster", "200")),
    ),
    Cycle(
        _C,
        {"dws-a": BALANCED, "dws-b": BALANCED, "dws-c": (S, Reason.ELIGIBLE)},
        started=("dws-c",),
        load=(LoadReading("dws-c", "dws-c", {}, "cloud_eye", "load_unknown"),),
        finished={"dws-a": (Outcome.SUCCEEDED, 42.0)},
        probed={"dws-a": 5.0},
        api=(("list_clusters", "200"), ("switchover", "200")),
        approvals={"dws-a": None, "dws-c": "approved"},  # dws-c's slot came: it runs
        notified=(("succeeded", "sent"), ("started", "sent")),
    ),
    Cycle(api=(("list_clusters", "503"),), error="dws_api"),
    Cycle(
        _C,
        {"dws-a": BALANCED, "dws-b": BALANCED, "dws-c": (B, Reason.BREAKER_OPEN)},
        finished={"dws-c": (Outcome.FAILED, 420.0)},
        breaker_open=_C,
        notified=(("failed", "failed"),),
    ),
    Cycle(
        _C,
        {"dws-a": BALANCED, "dws-b": BALANCED, "dws-c": (B, Reason.BREAKER_OPEN)},
        breaker_open=_C,
    ),
)

#: PromQL that must find data once the scenario ran (synthetic now, the real controller later).
SCENARIO_EXPECTATIONS = (
    "max_over_time(dws_rebalancer_cluster_blocked[10m]) == 1",
    'dws_rebalancer_switchovers_total{outcome="succeeded"} >= 1',
    'dws_rebalancer_switchovers_total{outcome="failed"} >= 1',
    "max_over_time(dws_rebalancer_switchover_in_progress[10m]) == 1",
    "dws_rebalancer_cycle_errors_total > 0",
    "dws_rebalancer_next_eligible_timestamp_seconds > 0",
    # The probe reports a tail after the switchover's end: wait for it, or the window may close
    # before what clients felt was scraped.
    "dws_rebalancer_last_client_interruption_seconds >= 0",
)


class SyntheticController:
    """Drives a Metrics through SCENARIO the way the reconcile loop would."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._started: dict[str, dt.datetime] = {}
        metrics.declare_notification_channel(NOTIFY_CHANNEL, NOTIFY_EVENTS)

    def apply(self, cycle: Cycle, now: dt.datetime) -> None:
        m = self.metrics
        for operation, code in cycle.api:
            m.observe_api_request(operation, code, 0.05 if code == "200" else 1.5)
        if cycle.error is not None:
            m.observe_cycle(seconds=1.6, ok=False, error_kind=cycle.error, now=now)
            return
        clusters = [cluster(n, unbalanced=n in cycle.unbalanced) for n in sorted(cycle.decisions)]
        m.observe_clusters(
            clusters,
            unbalanced_since={c.id: now - dt.timedelta(hours=3) for c in clusters if c.unbalanced},
            window_open={c.id: c.name != "dws-a" for c in clusters},
        )
        m.load_assessed(cycle.load)
        for name, (action, reason) in sorted(cycle.decisions.items()):
            eligible = now + dt.timedelta(hours=2) if action is Action.BLOCKED else None
            m.observe_decision(decision(name, action, reason, now, eligible))
        for name, (outcome, seconds) in cycle.finished.items():
            started = self._started.pop(name)
            done = switchover(name, started, outcome=outcome, seconds=seconds)
            m.switchover_finished(done)
            if name in cycle.probed:
                felt = cycle.probed[name]
                m.probe_finished(done, ClientImpact(felt, felt, started, now, samples=60))
        for name in cycle.started:
            self._started[name] = now
            m.switchover_started(switchover(name, now))
        for name in cycle.decisions:
            m.set_breaker(name, name in cycle.breaker_open)
        for name, state in cycle.approvals.items():
            slot = {"announced": now + dt.timedelta(hours=1), "approved": now}.get(state or "")
            m.set_approval(f"id-{name}", name, state, slot)
        for event, outcome in cycle.notified:
            m.count_notification(NOTIFY_CHANNEL, event, outcome)
        m.set_paused(False)
        m.observe_cycle(seconds=0.2, ok=True, error_kind=None, now=now)

    def run(self, after_cycle: Callable[[int], None] = lambda _: None) -> None:
        """Every cycle of SCENARIO; `after_cycle(n)` runs after the n-th (1-based)."""
        for number, cycle in enumerate(SCENARIO, 1):
            self.apply(cycle, dt.datetime.now(dt.UTC))
            after_cycle(number)


# -- serving from a thread -----------------------------------------------------------------------


@dataclass
class StaticStatus:
    """A StatusSource with settable answers; `snapshot` may be a callable (to make it fail)."""

    healthy: tuple[bool, str] = (True, "heartbeat 1s ago")
    readiness: tuple[bool, str] = (True, "last cycle reached DWS")
    snapshot: dict[str, Any] | Callable[[], dict[str, Any]] = field(
        default_factory=lambda: {"clusters": []}
    )

    def health(self) -> tuple[bool, str]:
        return self.healthy

    def ready(self) -> tuple[bool, str]:
        return self.readiness

    def status(self) -> dict[str, Any]:
        return self.snapshot() if callable(self.snapshot) else self.snapshot


class BackgroundServer:
    """An HttpServer in an event loop on its own thread, reachable while tests block."""

    def __init__(self, app: ASGIApp) -> None:
        self._server = HttpServer(app, "127.0.0.1", 0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._server.start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def finite_values(result: list[dict[str, Any]]) -> list[float]:
    """The finite numbers of a query_range (matrix) or query (vector) result."""
    raw = [
        v for series in result for _, v in series.get("values", [series.get("value", [0, "NaN"])])
    ]
    return [float(v) for v in raw if math.isfinite(float(v))]
