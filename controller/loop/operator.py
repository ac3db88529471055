"""An operator's approve and veto: checked against the journal and the policy, then journaled.

The same for `dws-rebalancer approve|veto` beside a running controller and for the controller's
own `POST /approve/{cluster}` and `/veto/{cluster}`: one durable row each, read by the next cycle.
Nothing is written when the input is wrong (`Refused` says why, in one line).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from controller.guards.text import utc_text
from controller.journal import ApprovalEntry, ApprovalKind, Journal
from controller.settings import EffectivePolicy, Settings
from controller.targets import ambiguous, fleet

#: How long an approval lasts without `--until`: a day, so one given for tonight's window does
#: not still let a switchover run next week.
DEFAULT_APPROVAL_TTL = dt.timedelta(hours=24)


class Refused(Exception):
    """Not recorded: the message says why. `unknown_cluster` tells HTTP to answer 404."""

    def __init__(self, message: str, *, unknown_cluster: bool = False) -> None:
        super().__init__(message)
        self.unknown_cluster = unknown_cluster


@dataclass(frozen=True)
class Said:
    """What was recorded, with the cluster's name and a sentence for the person who said it."""

    entry: ApprovalEntry
    cluster_name: str
    sentence: str


class Say(Protocol):
    """`approve` or `veto`."""

    def __call__(
        self,
        journal: Journal,
        settings: Settings,
        cluster: str,
        *,
        now: dt.datetime,
        by: str,
        until: dt.datetime | None = None,
        reason: str | None = None,
    ) -> Said: ...


def approve(
    journal: Journal,
    settings: Settings,
    cluster: str,
    *,
    now: dt.datetime,
    by: str,
    until: dt.datetime | None = None,
    reason: str | None = None,
) -> Said:
    """Let one switchover of `cluster` (id or name) run under `approval: manual`, until `until`."""
    cluster_id, name, policy = _cluster(journal, settings, cluster)
    if policy.approval != "manual":
        raise Refused(
            f"{name} is under approval: {policy.approval}; approve is for approval: manual"
        )
    end = _future(until, now) if until is not None else now + DEFAULT_APPROVAL_TTL
    entry = journal.add_approval(
        ApprovalKind.APPROVAL, cluster_id, at=now, until=end, by=by, reason=reason
    )
    sentence = (
        f"approved: {name} may switch over once, when the other guards allow, until {utc_text(end)}"
    )
    return Said(entry, name, sentence)


def veto(
    journal: Journal,
    settings: Settings,
    cluster: str,
    *,
    now: dt.datetime,
    by: str,
    until: dt.datetime | None = None,
    reason: str | None = None,
) -> Said:
    """Stop `cluster`'s switchover: its announced slot (the rest of that window occurrence), or
    everything until `until`. Cancels every approval and announcement made before it."""
    cluster_id, name, policy = _cluster(journal, settings, cluster)
    if policy.approval == "auto":
        raise Refused(
            f"{name} is under approval: auto, which a veto does not stop;"
            " use `dws-rebalancer pause`, or set approval: announce or manual"
        )
    announced = journal.approval_facts(now).get(cluster_id)
    slot = announced.announcement if announced is not None else None
    if until is not None:
        end = _future(until, now)
    elif slot is not None:
        end = slot.until
    else:
        raise Refused(f"nothing is announced for {name}: give --until to veto ahead of time")
    entry = journal.add_approval(
        ApprovalKind.VETO,
        cluster_id,
        at=now,
        until=end,
        by=by,
        reason=reason,
        slot=slot.slot if slot is not None else None,
    )
    what = f"the slot {utc_text(slot.slot)}" if slot is not None and slot.slot else "it"
    sentence = f"vetoed: {name} will not switch over until {utc_text(end)} ({what} is off)"
    return Said(entry, name, sentence)


def _cluster(journal: Journal, settings: Settings, wanted: str) -> tuple[str, str, EffectivePolicy]:
    """(id, latest name, policy) of a cluster the journal knows, by id, latest name or
    `TARGET/NAME`; the policy is its target's."""
    found = journal.clusters_matching(wanted)
    if len(found) > 1:
        raise Refused(ambiguous(wanted, (target for _, _, target in found)))
    if not found:
        raise Refused(f"no cluster {wanted!r} in the journal {journal.path}", unknown_cluster=True)
    cluster_id, name, target = found[0]
    own = next((t.settings for t in fleet(settings) if t.name == target), settings)
    return cluster_id, name, own.policy_for(cluster_id, name)


def _future(until: dt.datetime, now: dt.datetime) -> dt.datetime:
    if until.tzinfo is None:
        raise Refused(f"until {until.isoformat()} needs a UTC offset, e.g. 2026-12-01T02:00+08:00")
    if until <= now:
        raise Refused(f"until {until.isoformat()} is not in the future")
    return until
