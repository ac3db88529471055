"""The load guard: this cycle's load verdicts as a guard's answer, judged with the registry's guards."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.guards.decide import judge
from controller.guards.load import REASONS, load_guard, load_spec
from controller.guards.registry import GUARDS
from controller.load.assess import assess
from controller.load.facts import Reading, Unknown
from controller.model import Action, Cluster, History, Reason, Version
from controller.settings import EffectivePolicy

NOW = dt.datetime(2026, 3, 4, 2, 0, tzinfo=dt.UTC)
CLUSTER = Cluster(
    id="c-1",
    name="etl",
    status="AVAILABLE",
    sub_status=frozenset({"UNBALANCED"}),
    version=Version.parse("8.2.1.230"),
    raw_version="8.2.1.230",
)
LIMITS = {"dws010_cpu_usage": 60.0}
#: Every other guard allows under this policy, which gates on Cloud Eye.
POLICY = EffectivePolicy(
    windows=[],
    use_maintenance_window=False,
    min_unbalanced_duration=0,
    cooldown=0,
    load={"cloud_eye": {"limits": LIMITS}},
)


@pytest.mark.parametrize(
    ("verdicts", "reason", "detail"),
    [
        pytest.param(
            {"c-1": assess(Reading({"dws010_cpu_usage": 30}), LIMITS)}, None, "", id="quiet",
        ),
        pytest.param(
            {"c-1": assess(Reading({"dws010_cpu_usage": 85}, {"dws010_cpu_usage": "n-3"}), LIMITS)},
            Reason.LOAD_HIGH, "dws010_cpu_usage 85 > limit 60 on node n-3", id="high",
        ),
        pytest.param(
            {"c-1": assess(Unknown("cloud_eye", "HTTP 503"), LIMITS)},
            Reason.LOAD_UNKNOWN, "cloud_eye: HTTP 503", id="unknown",
        ),
        pytest.param({}, Reason.LOAD_UNKNOWN, "no load reading for the cluster", id="no verdict"),
    ],
)  # fmt: skip
def test_the_guard_answers_from_the_verdicts(
    verdicts: dict[str, object], reason: Reason | None, detail: str
) -> None:
    result = load_guard(verdicts)(CLUSTER, History(), POLICY, NOW)  # type: ignore[arg-type]
    assert result.allowed is (reason is None)
    assert result.reason is reason
    assert result.detail == detail
    assert result.next_eligible is None


def test_judged_after_the_registry_it_gives_the_decision() -> None:
    verdicts = {"c-1": assess(Reading({"dws010_cpu_usage": 85}), LIMITS)}
    verdict = judge(CLUSTER, History(), POLICY, NOW, registry=(*GUARDS, load_spec(verdicts)))
    assert verdict.decision.action is Action.BLOCKED
    assert verdict.decision.reason is Reason.LOAD_HIGH
    assert verdict.decision.next_eligible is None
    allowed = judge(
        CLUSTER,
        History(),
        POLICY,
        NOW,
        registry=(*GUARDS, load_spec({"c-1": assess(Reading({"dws010_cpu_usage": 5}), LIMITS)})),
    )
    assert allowed.decision.action is Action.SWITCHOVER


def test_it_is_a_safety_guard_and_its_reasons_are_the_issues() -> None:
    spec = load_spec({})
    assert not spec.bypassable  # high load lengthens the interruption whoever asked
    assert not spec.lifts_with_time
    assert {r.value for r in REASONS} == {"load_high", "load_unknown"}
    verdict = judge(CLUSTER, History(), POLICY, NOW, ignore_window=True, registry=(*GUARDS, spec))
    assert verdict.decision.reason is Reason.LOAD_UNKNOWN


def test_a_cluster_without_a_load_gate_is_not_held_for_want_of_a_reading() -> None:
    ungated = POLICY.model_copy(update={"load": EffectivePolicy().load})
    verdict = judge(CLUSTER, History(), ungated, NOW, registry=(*GUARDS, load_spec({})))
    assert verdict.decision.action is Action.SWITCHOVER


def test_a_cluster_another_guard_holds_keeps_the_clock_s_next_eligible() -> None:
    """Not asked about (debounce holds it): the decision says when the clock lets go, and the
    load is read then; without `held`, the same missing reading is load_unknown."""
    debouncing = POLICY.model_copy(update={"min_unbalanced_duration": dt.timedelta(hours=1)})
    history = History(unbalanced_since=NOW)
    held = judge(CLUSTER, history, debouncing, NOW, registry=(*GUARDS, load_spec({}, {"c-1"})))
    assert (held.decision.reason, held.decision.next_eligible) == (
        Reason.DEBOUNCING,
        NOW + dt.timedelta(hours=1),
    )
    unheld = judge(CLUSTER, history, debouncing, NOW, registry=(*GUARDS, load_spec({})))
    assert unheld.decision.next_eligible is None
    assert load_guard({}, {"c-2"})(CLUSTER, History(), POLICY, NOW).reason is Reason.LOAD_UNKNOWN
