"""Metrics: label sets, lazily zeroed series, removal of vanished clusters, blocked-reason switching."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import itertools
import platform
import re
from pathlib import Path

import pytest
from obskit import T0, SyntheticController, cluster, decision, samples, switchover
from prometheus_client import REGISTRY, generate_latest

from controller import __version__
from controller.model import Action, Outcome, Reason, Trigger
from controller.record.metrics import CycleErrorKind, Metrics

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
B = Action.BLOCKED


def labels(**kv: str) -> frozenset[tuple[str, str]]:
    return frozenset(kv.items())


def per_cluster_series(metrics: Metrics, name: str) -> list[str]:
    """Every exposed line mentioning the cluster."""
    text = generate_latest(metrics.registry).decode()
    return [line for line in text.splitlines() if f'dws_cluster="{name}"' in line]


def observe(metrics: Metrics, *names: str, unbalanced: tuple[str, ...] = ()) -> None:
    clusters = [cluster(n, unbalanced=n in unbalanced) for n in names]
    metrics.observe_clusters(
        clusters,
        unbalanced_since={c.id: T0 for c in clusters if c.unbalanced},
        window_open={c.id: True for c in clusters},
    )


def test_fresh_metrics_use_their_own_registry() -> None:
    first, second = Metrics(), Metrics()  # a second instance must not clash with the first
    assert first.registry is not second.registry
    assert REGISTRY.get_sample_value("dws_rebalancer_paused") is None


def test_fresh_metrics_expose_build_info_and_zeroed_controller_series() -> None:
    reg = Metrics().registry
    build = {
        labels(version=__version__, revision="unknown", python_version=platform.python_version()): 1
    }
    assert samples(reg, "dws_rebalancer_build_info") == build
    assert reg.get_sample_value("dws_rebalancer_paused") == 0
    assert reg.get_sample_value("dws_rebalancer_last_cycle_success_timestamp_seconds") == 0
    errors = samples(reg, "dws_rebalancer_cycle_errors_total")
    assert errors == {labels(kind=k.value): 0 for k in CycleErrorKind}


@pytest.mark.parametrize(
    ("unbalanced", "since", "window", "expected"),
    [
        (True, T0, True, {"unbalanced": 1, "since": T0.timestamp(), "window": 1}),
        (True, T0, False, {"unbalanced": 1, "since": T0.timestamp(), "window": 0}),
        (False, None, None, {"unbalanced": 0, "since": None, "window": None}),
    ],
)
def test_observe_clusters_sets_per_cluster_state(
    unbalanced: bool, since: dt.datetime | None, window: bool | None, expected: dict[str, float]
) -> None:
    metrics = Metrics()
    c = cluster("dws-a", unbalanced=unbalanced)
    metrics.observe_clusters(
        [c],
        unbalanced_since={c.id: since} if since else {},
        window_open={c.id: window},
    )
    reg, a = metrics.registry, {"dws_cluster": "dws-a"}
    info = samples(reg, "dws_rebalancer_cluster_info")
    assert info == {labels(dws_cluster="dws-a", dws_cluster_id="id-dws-a", version="8.2.1.230"): 1}
    assert reg.get_sample_value("dws_rebalancer_cluster_unbalanced", a) == expected["unbalanced"]
    since_name = "dws_rebalancer_cluster_unbalanced_since_timestamp_seconds"
    assert reg.get_sample_value(since_name, a) == expected["since"]
    assert reg.get_sample_value("dws_rebalancer_window_open", a) == expected["window"]


def test_a_balanced_cluster_costs_four_series_and_no_switchover_series() -> None:
    metrics = Metrics()
    observe(metrics, "dws-a")
    metrics.observe_decision(decision("dws-a", Action.NONE, Reason.NOT_UNBALANCED))
    metrics.set_breaker("dws-a", False)
    names = sorted(line.split("{")[0] for line in per_cluster_series(metrics, "dws-a"))
    assert names == [
        "dws_rebalancer_cluster_info",
        "dws_rebalancer_cluster_unbalanced",
        "dws_rebalancer_decisions_total",
        "dws_rebalancer_window_open",
    ]


def test_a_candidate_gets_zeroed_series_for_rate_and_increase_before_its_first_switchover() -> None:
    metrics = Metrics()
    observe(metrics, "dws-a", unbalanced=("dws-a",))
    metrics.observe_decision(decision("dws-a", B, Reason.DEBOUNCING))
    metrics.set_breaker("dws-a", False)
    reg, a = metrics.registry, {"dws_cluster": "dws-a"}
    totals = samples(reg, "dws_rebalancer_switchovers_total")
    assert totals == {
        labels(dws_cluster="dws-a", trigger=t.value, outcome=o.value): 0
        for t, o in itertools.product(Trigger, Outcome)
    }
    assert reg.get_sample_value("dws_rebalancer_switchover_in_progress", a) == 0
    assert reg.get_sample_value("dws_rebalancer_breaker_open", a) == 0


def test_the_interruption_histogram_is_fleet_wide_by_trigger_and_starts_at_zero() -> None:
    reg = Metrics().registry
    counts = samples(reg, "dws_rebalancer_interruption_seconds_count")
    assert counts == {labels(trigger=t.value): 0 for t in Trigger}


def test_interruption_buckets_run_from_a_second_to_an_hour() -> None:
    metrics = Metrics()
    bounds = [
        dict(k)["le"]
        for k in samples(metrics.registry, "dws_rebalancer_interruption_seconds_bucket")
    ]
    finite = sorted(float(b) for b in bounds if b != "+Inf")
    assert finite[0] <= 1
    assert finite[-1] == 3600
    assert 300 in finite  # DwsRebalancerLongInterruption counts observations above this bound
    assert "+Inf" in bounds


def test_vanished_cluster_loses_every_series_and_others_keep_theirs() -> None:
    metrics = Metrics()
    observe(metrics, "dws-a", "dws-b", unbalanced=("dws-a", "dws-b"))
    for name in ("dws-a", "dws-b"):
        metrics.observe_decision(decision(name, B, Reason.COOLDOWN, next_eligible=T0))
        metrics.switchover_started(switchover(name))
        metrics.switchover_finished(switchover(name, outcome=Outcome.FAILED, seconds=12))
        metrics.set_breaker(name, True)
    before_b = per_cluster_series(metrics, "dws-b")

    metrics.forget_cluster("id-dws-a")  # the cycle's ClusterGone

    assert per_cluster_series(metrics, "dws-a") == []
    assert per_cluster_series(metrics, "dws-b") == before_b


def test_renamed_cluster_moves_its_series_to_the_new_name() -> None:
    metrics = Metrics()
    observe(metrics, "dws-a")
    renamed = dataclasses.replace(cluster("dws-a"), name="dws-a2")
    metrics.observe_clusters([renamed], unbalanced_since={}, window_open={})
    assert per_cluster_series(metrics, "dws-a") == []
    info = samples(metrics.registry, "dws_rebalancer_cluster_info")
    assert info == {labels(dws_cluster="dws-a2", dws_cluster_id="id-dws-a", version="8.2.1.230"): 1}


def test_upgraded_cluster_keeps_a_single_info_series() -> None:
    metrics = Metrics()
    metrics.observe_clusters(
        [cluster("dws-a", version="8.1.1.202")], unbalanced_since={}, window_open={}
    )
    metrics.observe_clusters(
        [cluster("dws-a", version="8.2.1.230")], unbalanced_since={}, window_open={}
    )
    info = samples(metrics.registry, "dws_rebalancer_cluster_info")
    assert list(info) == [
        labels(dws_cluster="dws-a", dws_cluster_id="id-dws-a", version="8.2.1.230")
    ]


#: (action, reason) decided in turn, and the cluster_blocked reasons exposed after each.
BLOCKED_SEQUENCE = [
    ((B, Reason.OUTSIDE_WINDOW), {"outside_window"}),
    ((B, Reason.OUTSIDE_WINDOW), {"outside_window"}),
    ((B, Reason.COOLDOWN), {"cooldown"}),
    ((Action.SWITCHOVER, Reason.ELIGIBLE), set()),
    ((B, Reason.SWITCHOVER_IN_PROGRESS), {"switchover_in_progress"}),
    ((Action.DRY_RUN, Reason.DRY_RUN), set()),
    ((Action.NONE, Reason.NOT_UNBALANCED), set()),
]


def test_cluster_blocked_shows_only_the_current_reason() -> None:
    metrics = Metrics()
    for (action, reason), expected in BLOCKED_SEQUENCE:
        metrics.observe_decision(decision("dws-a", action, reason))
        blocked = samples(metrics.registry, "dws_rebalancer_cluster_blocked")
        assert blocked == {labels(dws_cluster="dws-a", reason=r): 1 for r in expected}, reason


def test_decisions_are_counted_by_action_and_reason() -> None:
    metrics = Metrics()
    for (action, reason), _ in BLOCKED_SEQUENCE:
        metrics.observe_decision(decision("dws-a", action, reason))
    counted = samples(metrics.registry, "dws_rebalancer_decisions_total")
    assert counted[labels(dws_cluster="dws-a", action="blocked", reason="outside_window")] == 2
    assert counted[labels(dws_cluster="dws-a", action="switchover", reason="eligible")] == 1
    assert sum(counted.values()) == len(BLOCKED_SEQUENCE)


def test_next_eligible_is_set_then_removed() -> None:
    metrics = Metrics()
    name, a = "dws_rebalancer_next_eligible_timestamp_seconds", {"dws_cluster": "dws-a"}
    later = T0 + dt.timedelta(hours=2)
    metrics.observe_decision(decision("dws-a", B, Reason.COOLDOWN, next_eligible=later))
    assert metrics.registry.get_sample_value(name, a) == later.timestamp()
    metrics.observe_decision(decision("dws-a", B, Reason.DEGRADED))
    assert metrics.registry.get_sample_value(name, a) is None


def test_switchover_lifecycle() -> None:
    metrics = Metrics()
    reg, a = metrics.registry, {"dws_cluster": "dws-a"}
    metrics.switchover_started(switchover("dws-a", trigger=Trigger.MANUAL))
    assert reg.get_sample_value("dws_rebalancer_switchover_in_progress", a) == 1

    done = switchover("dws-a", outcome=Outcome.SUCCEEDED, seconds=42, trigger=Trigger.MANUAL)
    metrics.switchover_finished(done)

    assert reg.get_sample_value("dws_rebalancer_switchover_in_progress", a) == 0
    total = {**a, "trigger": "manual", "outcome": "succeeded"}
    assert reg.get_sample_value("dws_rebalancer_switchovers_total", total) == 1
    manual = {"trigger": "manual"}
    assert reg.get_sample_value("dws_rebalancer_interruption_seconds_count", manual) == 1
    bucket = "dws_rebalancer_interruption_seconds_bucket"
    assert reg.get_sample_value(bucket, {**manual, "le": "30.0"}) == 0
    assert reg.get_sample_value(bucket, {**manual, "le": "60.0"}) == 1
    assert reg.get_sample_value("dws_rebalancer_last_interruption_seconds", a) == 42
    assert done.ended is not None
    last = reg.get_sample_value("dws_rebalancer_last_switchover_timestamp_seconds", a)
    assert last == done.ended.timestamp()


def test_unmeasured_switchover_is_counted_but_not_observed() -> None:
    metrics = Metrics()
    reg, a = metrics.registry, {"dws_cluster": "dws-a"}
    metrics.switchover_finished(switchover("dws-a", outcome=Outcome.REJECTED))
    total = {**a, "trigger": "controller", "outcome": "rejected"}
    assert reg.get_sample_value("dws_rebalancer_switchovers_total", total) == 1
    controller = {"trigger": "controller"}
    assert reg.get_sample_value("dws_rebalancer_interruption_seconds_count", controller) == 0
    assert reg.get_sample_value("dws_rebalancer_last_interruption_seconds", a) is None


@pytest.mark.parametrize(
    ("operation", "code", "expected"),
    [
        ("list_clusters", "200", ("list_clusters", "200")),
        ("switchover", "503", ("switchover", "503")),
        ("iam_token", "timeout", ("iam_token", "timeout")),
        ("get_cluster", "connection_error", ("get_cluster", "connection_error")),
        ("GET /v1.0/p1/clusters/abc", "200", ("other", "200")),  # an id in a label: refused
        ("switchover", "Connection reset by peer", ("switchover", "other")),
        ("switchover", "999", ("switchover", "other")),
    ],
)
def test_api_request_labels_stay_in_a_closed_set(
    operation: str, code: str, expected: tuple[str, str]
) -> None:
    metrics = Metrics()
    metrics.observe_api_request(operation, code, 0.2)
    reg = metrics.registry
    op, status = expected
    assert samples(reg, "dws_rebalancer_api_requests_total") == {
        labels(operation=op, code=status): 1
    }
    count = reg.get_sample_value(
        "dws_rebalancer_api_request_duration_seconds_count", {"operation": op}
    )
    assert count == 1


def test_unexpected_responses_start_at_zero_and_keep_a_closed_label_set() -> None:
    metrics = Metrics()
    name = "dws_rebalancer_api_unexpected_responses_total"
    assert samples(metrics.registry, name) == {labels(operation="switchover", kind="not_json"): 0}
    metrics.observe_unexpected_response("switchover", "not_json")
    metrics.observe_unexpected_response("https://dws.test/x", "Not JSON: <html>")
    assert samples(metrics.registry, name) == {
        labels(operation="switchover", kind="not_json"): 1,
        labels(operation="other", kind="other"): 1,
    }


@pytest.mark.parametrize(
    ("ok", "kind", "counted_as"),
    [
        (False, "dws_auth", "dws_auth"),
        (False, "journal", "journal"),
        (False, "no_such_kind", "internal"),
        (False, None, "internal"),
    ],
)
def test_failed_cycles_are_counted_by_kind(ok: bool, kind: str | None, counted_as: str) -> None:
    metrics = Metrics()
    metrics.observe_cycle(seconds=1.5, ok=ok, error_kind=kind, now=T0)
    errors = samples(metrics.registry, "dws_rebalancer_cycle_errors_total")
    assert {dict(k)["kind"]: v for k, v in errors.items() if v} == {counted_as: 1}
    success = metrics.registry.get_sample_value(
        "dws_rebalancer_last_cycle_success_timestamp_seconds"
    )
    assert success == 0


def test_successful_cycle_records_time_and_duration() -> None:
    metrics = Metrics()
    metrics.observe_cycle(seconds=0.3, ok=True, error_kind=None, now=T0)
    reg = metrics.registry
    assert (
        reg.get_sample_value("dws_rebalancer_last_cycle_success_timestamp_seconds")
        == T0.timestamp()
    )
    assert reg.get_sample_value("dws_rebalancer_cycle_duration_seconds_count") == 1
    assert sum(samples(reg, "dws_rebalancer_cycle_errors_total").values()) == 0


@pytest.mark.parametrize("value", [True, False])
def test_breaker_and_pause_flags(value: bool) -> None:
    metrics = Metrics()
    metrics.observe_decision(decision("dws-a", B, Reason.COOLDOWN))  # a candidate has the series
    metrics.set_breaker("dws-a", value)
    metrics.set_paused(value)
    reg = metrics.registry
    assert reg.get_sample_value("dws_rebalancer_breaker_open", {"dws_cluster": "dws-a"}) == int(
        value
    )
    assert reg.get_sample_value("dws_rebalancer_paused") == int(value)


def _metrics_page() -> str:
    """docs/metrics.md as the docs build renders it: its generated table filled in."""
    spec = importlib.util.spec_from_file_location("docgen", DOCS.parents[1] / "scripts/docgen.py")
    assert spec is not None
    assert spec.loader is not None
    docgen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docgen)
    expanded: str = docgen.expand(DOCS.read_text(encoding="utf-8"), "metrics.md")
    return expanded


def test_every_metric_and_label_value_set_is_documented() -> None:
    metrics = Metrics()
    SyntheticController(metrics).run()
    docs = _metrics_page()
    families = re.findall(r"^# TYPE (\S+) ", generate_latest(metrics.registry).decode(), re.M)
    assert families
    for family in families:
        assert f"`{family}`" in docs, family
    for value in [*Reason, *Action, *Trigger, *Outcome, *CycleErrorKind]:
        assert f"`{value.value}`" in docs, value


def test_build_info_carries_the_images_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWS_REBALANCER_REVISION", "0a48b12")
    (build,) = samples(Metrics().registry, "dws_rebalancer_build_info")
    assert dict(build)["revision"] == "0a48b12"
    monkeypatch.setenv("DWS_REBALANCER_REVISION", "$(rm -rf /)")  # not a revision: not a label
    (build,) = samples(Metrics().registry, "dws_rebalancer_build_info")
    assert dict(build)["revision"] == "unknown"


def test_process_and_python_collectors_are_on_the_controllers_registry() -> None:
    names = {family.name for family in Metrics().registry.collect()}
    assert {"process_resident_memory_bytes", "python_info", "python_gc_collections"} <= names
