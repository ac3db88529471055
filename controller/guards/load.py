"""The load guard: a cluster's load verdict, fetched before the guards run, as a guard's answer.

Pure, like every guard: the cycle asks Cloud Eye and Prometheus first (only for the clusters
every other guard allows, in shared batch calls), assesses each cluster, and hands the verdicts
in; `load_guard(verdicts, held)` then answers from them. A cluster without a verdict is blocked
with `load_unknown`: nothing was learnt about its load, so nothing may run (fail closed). The one
exception is a cluster in `held`: another guard holds it at this very instant, so it was not
asked about; the load guard leaves the answer to that guard, and the decision keeps the
next_eligible of the time guards (its load is read once they let go).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Protocol

from controller.guards import Guard, GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy

REASONS = frozenset({Reason.LOAD_HIGH, Reason.LOAD_UNKNOWN})


class LoadAssessment(Protocol):
    """What the guard reads of a verdict (`controller.load.assess.LoadVerdict` has it)."""

    @property
    def allowed(self) -> bool: ...
    @property
    def code(self) -> str: ...
    @property
    def detail(self) -> str: ...


def load_guard(
    verdicts: Mapping[str, LoadAssessment], held: AbstractSet[str] = frozenset()
) -> Guard:
    """A guard answering from `verdicts` (by cluster id); `held`: ids other guards hold now."""

    def check(
        cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
    ) -> GuardResult:
        if not gated(policy):
            return ALLOW  # no load gate configured for this cluster
        verdict = verdicts.get(cluster.id)
        if verdict is None and cluster.id in held:
            return ALLOW  # not asked: an earlier guard blocks it at this instant
        if verdict is None:
            return block(Reason.LOAD_UNKNOWN, "no load reading for the cluster")
        if verdict.allowed:
            return ALLOW
        # An unknown code from a newer source is not a pass either.
        reason = Reason.LOAD_HIGH if verdict.code == Reason.LOAD_HIGH else Reason.LOAD_UNKNOWN
        return block(reason, verdict.detail)

    return check


def gated(policy: EffectivePolicy) -> bool:
    """Whether the cluster's policy asks for a load gate (Cloud Eye limits or PromQL blockers)."""
    return bool(policy.load.cloud_eye.limits or policy.load.prometheus.blockers)


def load_spec(
    verdicts: Mapping[str, LoadAssessment], held: AbstractSet[str] = frozenset()
) -> GuardSpec:
    """The load guard's spec over this cycle's verdicts: asked after the registry's guards.

    Its block does not lift with time on its own (load drops when it drops: the next cycle
    reads it again). It is a safety guard: `--ignore-window` does not skip it, as high load makes
    the interruption longer whoever asked for the switchover.
    """
    return GuardSpec("load", load_guard(verdicts, held), REASONS)
