"""What the load sources answer: a reading per cluster, firing blockers, or why a source could not tell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

CLOUD_EYE = "cloud_eye"
PROMETHEUS = "prometheus"


@dataclass(frozen=True)
class Unknown:
    """A source could not answer (error, timeout, empty or unparsable): the gate fails closed."""

    source: str
    detail: str

    def __str__(self) -> str:
        return f"{self.source}: {self.detail}"


@dataclass(frozen=True)
class Point:
    """One datapoint: its instant and its value."""

    at: dt.datetime
    value: float


@dataclass(frozen=True)
class Reading:
    """One cluster's load over the lookback: a value per metric (node metrics: the busiest node)."""

    values: Mapping[str, float]
    #: For node metrics, the node whose value counted.
    nodes: Mapping[str, str] = field(default_factory=dict)
    #: How the values were combined, for details: `max over 15m`.
    basis: str = ""


@dataclass(frozen=True)
class Firing:
    """A PromQL blocker that returned a non-empty vector."""

    query: str
    series: int
    #: The first series' labels, for the detail: `{alertname="DiskFull", severity="critical"}`.
    example: str = ""
