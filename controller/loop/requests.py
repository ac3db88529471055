"""Manual switchover requests: the running controller answers what `switchover` beside it asked.

`switchover CLUSTER` cannot act while another process holds the journal's actor lock, so it
records a request; the holder's next cycle answers it here, through the same guards as a manual
switchover run by hand (`--ignore-window` skips the same four), and marks it done or refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import structlog

from controller.config_types import format_duration
from controller.journal import Journal, SwitchoverRequest
from controller.loop.switchovers import Switchovers
from controller.model import Action, Cluster, Decision, Reason, SwitchoverRecord, Trigger

if TYPE_CHECKING:
    from controller.model import History, Verdict

log = structlog.get_logger("controller.loop.requests")

#: A request nobody answered for this long is refused as `expired`, never carried out late: the
#: operator who asked may have gone, and the cluster's state may have changed a lot meanwhile.
REQUEST_TTL_FLOOR = dt.timedelta(minutes=10)


def request_ttl(poll_interval: dt.timedelta) -> dt.timedelta:
    """Long enough for a cycle even after failures (they back off to 4 poll intervals)."""
    return max(REQUEST_TTL_FLOOR, 5 * poll_interval)


def resolve(clusters: Sequence[Cluster], wanted: str) -> Cluster | None:
    """The cluster with that id, else the only one with that name (an ambiguous name is None)."""
    by_id = [c for c in clusters if c.id == wanted]
    if by_id:
        return by_id[0]
    by_name = {c.id: c for c in clusters if c.name == wanted}
    return next(iter(by_name.values())) if len(by_name) == 1 else None


def no_action_sentence(decision: Decision) -> str:
    """One sentence saying that nothing was sent, and why."""
    name = decision.cluster_name
    if decision.reason is Reason.NOT_UNBALANCED:
        return f"{name} is balanced: nothing to do (no switchover sent)"
    if decision.reason is Reason.SWITCHOVER_IN_PROGRESS:
        return f"{name}: a switchover is already running: nothing to do (no switchover sent)"
    if decision.action is Action.DRY_RUN:
        return f"{name}: dry run is on (no switchover sent)"
    return f"{name} is blocked ({decision.reason}): {decision.detail} (no switchover sent)"


class Judge(Protocol):
    """The cycle's judge: the same guards, facts and history as the controller's own decisions."""

    def __call__(
        self, cluster: Cluster, *, ignore_window: bool = False
    ) -> tuple[Verdict, History]: ...


class ManualRequests:
    """Answers the journal's pending switchover requests, oldest first, once per cycle."""

    def __init__(self, journal: Journal, switchovers: Switchovers, project_id: str) -> None:
        self.journal = journal
        self.switchovers = switchovers
        self.project_id = project_id

    def wanted(self, clusters: Sequence[Cluster], only: int | None = None) -> list[Cluster]:
        """The listed clusters that pending requests (or `only` that one) ask for."""
        found = (
            resolve(clusters, r.cluster)
            for r in self.journal.pending_requests()
            if only is None or r.id == only
        )
        return [c for c in found if c is not None]

    async def answer(
        self,
        clusters: Sequence[Cluster],
        judge: Judge,
        now: dt.datetime,
        *,
        ttl: dt.timedelta,
        stopping: Callable[[], bool],
        only: int | None = None,
    ) -> list[SwitchoverRecord]:
        """Carry out or refuse every pending request (or `only` that one); the switchovers started."""
        records = []
        for request in self.journal.pending_requests():
            if only is not None and request.id != only:
                continue
            if stopping():  # left pending: the next start answers it (or lets it expire)
                break
            record = await self._answer(request, clusters, judge, now, ttl)
            if record is not None:
                records.append(record)
        return records

    async def _answer(
        self,
        request: SwitchoverRequest,
        clusters: Sequence[Cluster],
        judge: Judge,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> SwitchoverRecord | None:
        cluster = resolve(clusters, request.cluster)
        refusal = self._refusal(request, cluster, judge, now, ttl)
        if refusal is not None:
            reason, detail = refusal
            self.journal.refuse_request(request.id, at=now, reason=reason, detail=detail)
            log.warning(
                "switchover_request_refused",
                request=request.id,
                cluster=request.cluster,
                reason=reason,
                detail=detail,
            )
            return None
        assert cluster is not None  # _refusal refuses an unknown cluster
        log.info("switchover_request_accepted", request=request.id, cluster=cluster.name)
        return await self.switchovers.trigger(cluster, Trigger.MANUAL, now, request_id=request.id)

    def _refusal(
        self,
        request: SwitchoverRequest,
        cluster: Cluster | None,
        judge: Judge,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> tuple[str, str] | None:
        """Why the request is not carried out (reason, detail); None when it goes ahead."""
        if now - request.requested_at > ttl:
            asked = request.requested_at.isoformat(timespec="seconds")
            return "expired", f"asked at {asked}, unanswered for over {format_duration(ttl)}"
        if cluster is None:
            return "unknown_cluster", f"no cluster {request.cluster!r} in project {self.project_id}"
        running = self.switchovers.tracked.get(cluster.id)
        if running is not None:  # the listing predates this cycle's POSTs: ask the tracker
            return Reason.SWITCHOVER_IN_PROGRESS.value, (
                f"{cluster.name}: a switchover ({running.trigger}) is already running:"
                " nothing to do (no switchover sent)"
            )
        decision = judge(cluster, ignore_window=request.ignore_window)[0].decision
        if decision.action is not Action.SWITCHOVER:
            return decision.reason.value, no_action_sentence(decision)
        return None
