"""The load verdict of one cluster: fetched values and limits in, allow / load_high / load_unknown out.

Pure. A definite excess wins over an unknown source (it names what to wait for); every limit
must hold (`value <= limit`), and a limit whose metric has no value is unknown, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from controller.load.facts import CLOUD_EYE, Firing, Reading, Unknown

Code = Literal["allow", "load_high", "load_unknown"]
ALLOW: Code = "allow"
#: The reason codes of the issue, spelled as `controller.model.Reason` spells them.
LOAD_HIGH: Code = "load_high"
LOAD_UNKNOWN: Code = "load_unknown"


@dataclass(frozen=True)
class LoadVerdict:
    """What the load gate says about one cluster, with the values it saw (for metrics and history)."""

    code: Code
    detail: str = ""
    values: Mapping[str, float] = field(default_factory=dict)
    #: load_high: the metric (or PromQL query), its value and the limit it broke.
    metric: str | None = None
    value: float | None = None
    limit: float | None = None
    #: load_unknown: the source that could not answer.
    source: str | None = None

    @property
    def allowed(self) -> bool:
        return self.code == ALLOW


def assess(
    reading: Reading | Unknown | None,
    limits: Mapping[str, float],
    blockers: Sequence[Firing] | Unknown | None = None,
) -> LoadVerdict:
    """The verdict from Cloud Eye's `reading` and the firing PromQL `blockers`.

    None means the source was not asked: right when it has nothing configured, and unknown
    (fail closed) for Cloud Eye when limits are set.
    """
    values = reading.values if isinstance(reading, Reading) else {}
    high = _over_limit(reading, limits) if isinstance(reading, Reading) else None
    if high is None and isinstance(blockers, Sequence) and blockers:
        high = _blocked(blockers, values)
    if high is not None:
        return high
    unknown = _unknown(reading, limits, blockers)
    if unknown is not None:
        return LoadVerdict(LOAD_UNKNOWN, str(unknown), values, source=unknown.source)
    return LoadVerdict(ALLOW, "load within limits", values)


def _over_limit(reading: Reading, limits: Mapping[str, float]) -> LoadVerdict | None:
    for metric, limit in limits.items():
        value = reading.values.get(metric)
        if value is not None and value > limit:
            where = f" on node {reading.nodes[metric]}" if metric in reading.nodes else ""
            basis = f" ({reading.basis})" if reading.basis else ""
            detail = f"{metric} {value:g} > limit {limit:g}{where}{basis}"
            return LoadVerdict(LOAD_HIGH, detail, reading.values, metric, value, limit)
    return None


def _blocked(blockers: Sequence[Firing], values: Mapping[str, float]) -> LoadVerdict:
    first = blockers[0]
    example = f", e.g. {first.example}" if first.example else ""
    more = f" (and {len(blockers) - 1} more blockers)" if len(blockers) > 1 else ""
    detail = f"prometheus blocker {first.query!r} returned {first.series} series{example}{more}"
    return LoadVerdict(LOAD_HIGH, detail, values, first.query, float(first.series), 0.0)


def _unknown(
    reading: Reading | Unknown | None,
    limits: Mapping[str, float],
    blockers: Sequence[Firing] | Unknown | None,
) -> Unknown | None:
    if isinstance(reading, Unknown):
        return reading
    if limits and reading is None:
        return Unknown(CLOUD_EYE, "no reading for the cluster")
    missing = [m for m in limits if reading is not None and m not in reading.values]
    if missing:
        return Unknown(CLOUD_EYE, f"no value for {', '.join(missing)}")
    return blockers if isinstance(blockers, Unknown) else None
