"""Every target's metrics on one exposition, each sample labelled with its target.

Each target keeps its own registry; this collector adds `dws_target`, `dws_region` and
`dws_project` to each of its samples.

Each target's `Metrics` is what one project always had, so nothing that writes a metric knows
about targets; the label values are the configuration's closed set (one per target). Families of
the same name from several targets become one family, as the exposition format requires.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

TARGET_LABELS = ("dws_target", "dws_region", "dws_project")


class TargetRegistries(Collector):
    """Collects each added registry with its target's labels on every sample."""

    def __init__(self) -> None:
        self._parts: list[tuple[CollectorRegistry, Mapping[str, str]]] = []

    def add(self, registry: CollectorRegistry, *, target: str, region: str, project: str) -> None:
        labels = dict(zip(TARGET_LABELS, (target, region, project), strict=True))
        self._parts.append((registry, labels))

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for registry, labels in self._parts:
            for family in registry.collect():
                merged = families.get(family.name)
                if merged is None:
                    merged = Metric(family.name, family.documentation, family.type, family.unit)
                    families[family.name] = merged
                merged.samples.extend(
                    sample._replace(labels={**labels, **sample.labels}) for sample in family.samples
                )
        yield from families.values()

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected fresh each scrape: nothing to check at registration
