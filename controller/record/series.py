"""Per-cluster series as plain values, exposed through one prometheus_client custom collector.

A labelled child of a prometheus_client Gauge is an object with its own lock and about a kilobyte
of attributes; at 10 000 clusters with several series each that is most of the controller's
memory, and every write takes a lock. Here a series is one dict entry (labels -> float): writing
is an assignment, and the families are built only when Prometheus scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Labels = tuple[str, ...]


class SeriesTable:
    """One metric family: its series by label values. Counters only go up (or are removed)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str],
        kind: Literal["gauge", "counter"],
    ) -> None:
        self.name = name  # a counter's name without `_total`: the exposition adds it
        self.documentation = documentation
        self.labels = tuple(labels)
        self.kind = kind
        self.values: dict[Labels, float] = {}

    def set(self, labels: Labels, value: float) -> None:
        self.values[labels] = value

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def ensure(self, labels: Labels) -> None:
        """A counter series at 0, so that rate() and increase() see its first event."""
        self.values.setdefault(labels, 0.0)

    def remove(self, labels: Labels) -> None:
        self.values.pop(labels, None)

    def get(self, labels: Labels) -> float | None:
        return self.values.get(labels)

    def family(self, *, with_samples: bool = True) -> Metric:
        cls = GaugeMetricFamily if self.kind == "gauge" else CounterMetricFamily
        family = cls(self.name, self.documentation, labels=self.labels)
        if with_samples:
            for labels, value in list(self.values.items()):  # a copy: the loop may write meanwhile
                family.add_metric(labels, value)
        return family


class TablesCollector(Collector):
    """Exposes a set of tables on a registry."""

    def __init__(self, tables: Sequence[SeriesTable]) -> None:
        self.tables = tuple(tables)

    def describe(self) -> Iterator[Metric]:
        # The registry checks names for clashes from this, without a scrape.
        return (table.family(with_samples=False) for table in self.tables)

    def collect(self) -> Iterator[Metric]:
        return (table.family() for table in self.tables)
