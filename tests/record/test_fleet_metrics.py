"""One exposition for every target: each sample of a target's registry gains its target labels, and
families of the same name from several targets are one family (as a real scrape parses them)."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controller.model import Cluster, Version
from controller.record.fleet_metrics import TargetRegistries
from controller.record.metrics import Metrics, register_process_metrics


def cluster(name: str) -> Cluster:
    return Cluster(
        id=f"id-{name}",
        name=name,
        status="AVAILABLE",
        sub_status=frozenset({"UNBALANCED"}),
        version=Version.parse("8.2.1.230"),
        raw_version="8.2.1.230",
    )


def test_every_target_sample_carries_its_labels_and_families_merge() -> None:
    root = CollectorRegistry()
    register_process_metrics(root)
    targets = TargetRegistries()
    now = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    for name, region in (("bj", "cn-north-4"), ("sh", "cn-east-3")):
        metrics = Metrics(process=False)
        metrics.observe_clusters([cluster(f"etl-{name}")], unbalanced_since={}, window_open={})
        metrics.observe_cycle(seconds=0.1, ok=True, error_kind=None, now=now)
        targets.add(metrics.registry, target=name, region=region, project=f"p-{name}")
    root.register(targets)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(root).decode())}
    unbalanced = families["dws_rebalancer_cluster_unbalanced"].samples
    assert sorted((s.labels["dws_target"], s.labels["dws_cluster"]) for s in unbalanced) == [
        ("bj", "etl-bj"),
        ("sh", "etl-sh"),
    ]
    assert {s.labels["dws_region"] for s in unbalanced} == {"cn-north-4", "cn-east-3"}
    assert {s.labels["dws_project"] for s in unbalanced} == {"p-bj", "p-sh"}
    success = families["dws_rebalancer_last_cycle_success_timestamp_seconds"].samples
    assert {s.labels["dws_target"] for s in success} == {"bj", "sh"}
    # The process's own series once, without target labels.
    (build,) = families["dws_rebalancer_build_info"].samples
    assert "dws_target" not in build.labels
    assert "dws_target" not in families["process_cpu_seconds"].samples[0].labels
