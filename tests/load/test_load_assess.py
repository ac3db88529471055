"""assess(): fetched values and limits in, allow / load_high / load_unknown out (table-driven)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from controller.load.assess import assess
from controller.load.facts import Firing, Reading, Unknown

SQL = "dws008_active_sql_count"
CPU = "dws010_cpu_usage"
LIMITS = {SQL: 20.0, CPU: 60.0}
QUIET = Reading({SQL: 4, CPU: 35}, {CPU: "node-2"}, "max over 15m")
BUSY_CPU = Reading({SQL: 4, CPU: 85.5}, {CPU: "node-2"}, "max over 15m")
BUSY_BOTH = Reading({SQL: 21, CPU: 85.5}, {CPU: "node-2"}, "max over 15m")
AT_LIMIT = Reading({SQL: 20, CPU: 60}, {}, "")
CES_DOWN = Unknown("cloud_eye", "HTTP 503 ces.0015: service unavailable")
PROM_DOWN = Unknown("prometheus", "'up': no answer within 10s")
ALERT = Firing('ALERTS{severity="critical"}', 2, '{alertname="DiskFull"}')
BACKUP = Firing("backup_running > 0", 1)


@pytest.mark.parametrize(
    ("reading", "limits", "blockers", "code", "detail"),
    [
        pytest.param(QUIET, LIMITS, None, "allow", "load within limits", id="within limits"),
        pytest.param(AT_LIMIT, LIMITS, None, "allow", "load within limits", id="at the limit holds"),
        pytest.param(None, {}, None, "allow", "load within limits", id="nothing configured"),
        pytest.param(QUIET, LIMITS, [], "allow", "load within limits", id="no blocker fires"),
        pytest.param(
            BUSY_CPU, LIMITS, None, "load_high",
            "dws010_cpu_usage 85.5 > limit 60 on node node-2 (max over 15m)", id="node metric high",
        ),
        pytest.param(
            BUSY_BOTH, LIMITS, None, "load_high",
            "dws008_active_sql_count 21 > limit 20 (max over 15m)", id="first limit in order",
        ),
        pytest.param(
            BUSY_CPU, {SQL: 20}, None, "allow", "load within limits", id="unlimited metric",
        ),
        pytest.param(
            QUIET, LIMITS, [ALERT, BACKUP], "load_high",
            "prometheus blocker 'ALERTS{severity=\"critical\"}' returned 2 series, "
            "e.g. {alertname=\"DiskFull\"} (and 1 more blockers)", id="blockers fire",
        ),
        pytest.param(
            None, {}, [BACKUP], "load_high",
            "prometheus blocker 'backup_running > 0' returned 1 series", id="only prometheus",
        ),
        pytest.param(
            CES_DOWN, LIMITS, None, "load_unknown",
            "cloud_eye: HTTP 503 ces.0015: service unavailable", id="cloud eye unknown",
        ),
        pytest.param(
            None, LIMITS, None, "load_unknown", "cloud_eye: no reading for the cluster",
            id="limits but no reading",
        ),
        pytest.param(
            Reading({SQL: 3}), LIMITS, None, "load_unknown", "cloud_eye: no value for dws010_cpu_usage",
            id="a limited metric without a value",
        ),
        pytest.param(
            QUIET, LIMITS, PROM_DOWN, "load_unknown", "prometheus: 'up': no answer within 10s",
            id="prometheus unknown",
        ),
        pytest.param(
            CES_DOWN, LIMITS, [BACKUP], "load_high",
            "prometheus blocker 'backup_running > 0' returned 1 series",
            id="a definite block wins over an unknown source",
        ),
        pytest.param(
            BUSY_CPU, LIMITS, PROM_DOWN, "load_high",
            "dws010_cpu_usage 85.5 > limit 60 on node node-2 (max over 15m)",
            id="high with prometheus down",
        ),
    ],
)  # fmt: skip
def test_assess(
    reading: Reading | Unknown | None,
    limits: Mapping[str, float],
    blockers: Sequence[Firing] | Unknown | None,
    code: str,
    detail: str,
) -> None:
    verdict = assess(reading, limits, blockers)
    assert (verdict.code, verdict.detail) == (code, detail)
    assert verdict.allowed is (code == "allow")


def test_a_high_verdict_names_metric_value_and_limit() -> None:
    verdict = assess(BUSY_CPU, LIMITS)
    assert (verdict.metric, verdict.value, verdict.limit) == (CPU, 85.5, 60)
    assert verdict.values == BUSY_CPU.values  # every value seen, for the load_value gauge


def test_an_unknown_verdict_names_its_source() -> None:
    assert assess(CES_DOWN, LIMITS).source == "cloud_eye"
    assert assess(QUIET, LIMITS, PROM_DOWN).source == "prometheus"
    assert assess(QUIET, LIMITS, PROM_DOWN).values == QUIET.values
