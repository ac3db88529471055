"""The cycle's approvals stage: what people said, read once per cycle, and announcements made in time.

Each cycle reads the live approvals, vetoes and announcements once (`ApprovalStage.book`); the
approval guard judges from them. Under `approval: announce`, a cluster that would become
eligible within `announce_lead` is announced here: a `SwitchoverPlanned` event, which the journal
keeps (the row a veto finds) and the notification sink sends. The cluster is then judged again
and shows `announced` until its slot. A switchover the controller triggers uses up the approval
or announcement that allowed it (`Switchovers.approval_seen`, marked with its row before the POST).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from controller.guards import GuardSpec, decide
from controller.guards.approval import ApprovalState, approval_state, slot_end
from controller.guards.text import utc_text
from controller.loop.deps import LoopDeps
from controller.loop.switchovers import Switchovers
from controller.model import (
    Action,
    ApprovalFacts,
    ApprovalMark,
    Cluster,
    History,
    Verdict,
)
from controller.record.events import ApprovalStateChanged, SwitchoverPlanned
from controller.settings import EffectivePolicy

#: Guards that speak of this moment only: asked again at the slot, they do not stop an
#: announcement (high load or another cluster switching an hour before the slot says little).
MOMENTARY = frozenset({"load", "concurrency"})


@dataclass
class ApprovalBook:
    """One cycle's approval facts by cluster id, as of `as_of`; `requested`: for a manual request."""

    as_of: dt.datetime
    facts: dict[str, ApprovalFacts] = field(default_factory=dict)
    requested: bool = False

    def of(self, cluster_id: str) -> ApprovalFacts:
        found = self.facts.get(cluster_id) or ApprovalFacts(self.as_of)
        return dataclasses.replace(found, requested=True) if self.requested else found

    def by_hand(self) -> ApprovalBook:
        """The same facts for a switchover a person asked for: the request is its approval."""
        return dataclasses.replace(self, requested=True)


class Judge(Protocol):
    """The cycle's judge, as this stage uses it."""

    registry: Sequence[GuardSpec]
    approvals: ApprovalBook | None
    at: dt.datetime

    def __call__(
        self, cluster: Cluster, *, ignore_window: bool = False
    ) -> tuple[Verdict, History]: ...


class ApprovalStage:
    def __init__(
        self,
        deps: LoopDeps,
        policy: Callable[[Cluster], EffectivePolicy],
        switchovers: Switchovers,
    ) -> None:
        self.journal = deps.journal
        self.recorder = deps.recorder
        self.policy = policy
        self.switchovers = switchovers
        #: The state and slot last recorded per cluster id: an event only when they change.
        self._states: dict[str, tuple[str | None, dt.datetime | None]] = {}

    def book(self, at: dt.datetime) -> ApprovalBook:
        return ApprovalBook(at, self.journal.approval_facts(at))

    def judged(self, judge: Judge, cluster: Cluster) -> tuple[Verdict, History]:
        """Judge one cluster of the cycle; announce it first when due, and judge it again then."""
        verdict, history = judge(cluster)
        policy = self.policy(cluster)
        if policy.approval == "auto":
            return verdict, history  # the common case: nothing to announce, note or use up
        slot = self._due(judge, cluster, verdict, history, policy)
        if slot is not None and judge.approvals is not None:
            self._announce(judge.approvals, cluster, policy, slot)
            verdict, history = judge(cluster)
        self._note(cluster, verdict, history, policy, judge.at)
        return verdict, history

    def forget(self, cluster_id: str) -> None:
        self._states.pop(cluster_id, None)
        self.switchovers.approval_seen.pop(cluster_id, None)

    def _due(
        self,
        judge: Judge,
        cluster: Cluster,
        verdict: Verdict,
        history: History,
        policy: EffectivePolicy,
    ) -> dt.datetime | None:
        """The slot to announce now, if the cluster would become eligible within announce_lead.

        Only time guards (and the momentary ones) may block it; its slot is the first instant
        at least announce_lead away at which every time guard allows, as the decision code
        projects it (the approval guard names that earliest slot when nothing is announced).
        """
        facts = history.approval
        if policy.approval != "announce" or verdict.decision.action is not Action.BLOCKED:
            return None
        if facts is None or facts.requested or facts.veto or facts.announcement:
            return None  # unknown, or held by a live announcement or veto
        if "approval" not in verdict.blocked_by:
            return None
        registry = [spec for spec in judge.registry if spec.name not in MOMENTARY]
        projected = decide.judge(cluster, history, policy, judge.at, registry=registry)
        slot = projected.decision.next_eligible
        if slot is None or slot > judge.at + policy.announce_lead:
            return None
        return slot

    def _announce(
        self, book: ApprovalBook, cluster: Cluster, policy: EffectivePolicy, slot: dt.datetime
    ) -> None:
        now, until = book.as_of, slot_end(cluster, policy, slot)
        detail = (
            f"switchover of {cluster.name} planned for {utc_text(slot)}: it runs then unless"
            f" vetoed (`dws-rebalancer veto {cluster.name}`)"
        )
        planned = self.recorder.record(
            SwitchoverPlanned(cluster.id, cluster.name, slot, detail, until=until, at=now)
        )
        if planned.announcement_id is None:  # not journaled: read back as unannounced next cycle
            return
        mark = ApprovalMark(planned.announcement_id, now, until, "controller", slot=slot)
        book.facts[cluster.id] = dataclasses.replace(book.of(cluster.id), announcement=mark)

    def _note(
        self,
        cluster: Cluster,
        verdict: Verdict,
        history: History,
        policy: EffectivePolicy,
        now: dt.datetime,
    ) -> None:
        """Record the cluster's state when it changed; remember the mark a switchover would use."""
        facts = history.approval if cluster.unbalanced else None
        state = None if facts is None else approval_state(policy, facts, now)
        announced = facts.announcement if facts is not None else None
        slot = announced.slot if announced and state is not ApprovalState.VETOED else None
        if self._states.get(cluster.id) != (state, slot):
            self._states[cluster.id] = (state, slot)
            self.recorder.record(ApprovalStateChanged(cluster.id, cluster.name, state, slot))
        used = _used(policy, facts) if verdict.decision.action is Action.SWITCHOVER else None
        if used is None:
            self.switchovers.approval_seen.pop(cluster.id, None)
        else:
            self.switchovers.approval_seen[cluster.id] = used.id


def _used(policy: EffectivePolicy, facts: ApprovalFacts | None) -> ApprovalMark | None:
    """The approval (manual) or announcement (announce) that lets this switchover run."""
    if facts is None or facts.requested:
        return None
    if policy.approval == "manual":
        return facts.approval
    return facts.announcement if policy.approval == "announce" else None
