"""Fixtures: a metrics target driven through a scenario, and a real Prometheus scraping it."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from helm_python import Chart
from live import LiveController
from obskit import SCENARIO_EXPECTATIONS, BackgroundServer, StaticStatus, SyntheticController
from prom import PROMETHEUS, PROMTOOL, PromError, Prometheus

from controller.http.server import create_app
from controller.record.metrics import Metrics


@pytest.fixture(autouse=True, scope="session")
def _ci_installs_prometheus() -> None:
    """Outside CI a missing Prometheus skips its tests; in CI (which installs it) it is a failure."""
    if os.environ.get("CI") == "true" and (PROMETHEUS is None or PROMTOOL is None):
        pytest.fail("Debian's prometheus package (prometheus, promtool) is missing: see .ci/run")


ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts/dws-rebalancer"
DASHBOARD = CHART / "dashboards/dws-rebalancer.json"
#: The namespace label our Prometheus gives its target, as a ServiceMonitor in namespace dws would.
NAMESPACE = "dws"


def _render_rules() -> Path:
    """The chart's alerts as a plain rule file: its PrometheusRule's groups, for release namespace dws."""
    values = {
        "config": {"project_id": "p"},
        "auth": {"ak": "placeholder-ak", "sk": "placeholder-sk"},
        "prometheusRule": {"enabled": True},
    }
    rendered = Chart.load(CHART).render(values, name="rb", namespace=NAMESPACE)
    (rule,) = (
        doc
        for path, text in rendered.items()
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc and doc.get("kind") == "PrometheusRule"
    )
    path = Path(tempfile.mkdtemp(prefix="dws-rules-")) / "dws-rebalancer.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}), encoding="utf-8")
    return path


RULES = _render_rules()


@dataclass(frozen=True)
class MetricsTarget:
    """What Prometheus scrapes (host:port), how to play the scenario, and what it should show."""

    address: str
    run_scenario: Callable[[Prometheus], None]
    #: alert name -> the clusters it must fire for once the scenario ran
    alerts: Mapping[str, set[str]]
    #: a cluster whose switchover succeeded: no alert may name it
    quiet_cluster: str
    logs: Callable[[], str] = lambda: ""


@dataclass(frozen=True)
class ScenarioWindow:
    """Unix times bracketing the scenario, for range queries."""

    start: float
    end: float


def _synthetic_run(metrics: Metrics) -> Callable[[Prometheus], None]:
    def run(prom: Prometheus) -> None:
        # After each cycle, wait until Prometheus has scraped it: every event lands in its own
        # scrape, so rate()/increase() see each one, whatever the machine's speed.
        SyntheticController(metrics).run(
            lambda n: prom.wait_for(f"dws_rebalancer_cycle_duration_seconds_count == {n}")
        )

    return run


@pytest.fixture(scope="session", params=["synthetic", "controller"])
def metrics_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsTarget]:
    """`synthetic`: a Metrics behind the real HttpServer, driven exactly (incl. a 420 s
    interruption and an open breaker). `controller`: `dws-rebalancer run` against the emulator."""
    if request.param == "synthetic":
        metrics = Metrics()
        with BackgroundServer(create_app(metrics, StaticStatus())) as server:
            yield MetricsTarget(
                server.address,
                _synthetic_run(metrics),
                # DwsRebalancerLongInterruption fires too, but names a trigger, not a cluster
                # (the interruption histogram is fleet-wide): tests/chart/rules covers it.
                alerts={"DwsRebalancerSwitchoverFailed": {"dws-c"}},
                quiet_cluster="dws-a",
            )
        return
    live = LiveController(tmp_path_factory.mktemp("controller"))
    try:
        yield MetricsTarget(
            live.address,
            live.run,
            alerts={"DwsRebalancerSwitchoverFailed": {"dws-bad"}},
            quiet_cluster="dws-ok",
            logs=live.logs,
        )
    finally:
        live.stop()


@pytest.fixture(scope="session")
def prometheus(
    metrics_target: MetricsTarget, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (.ci/run installs Debian's package)")
    workdir = tmp_path_factory.mktemp("prometheus")
    with Prometheus(
        workdir,
        [metrics_target.address],
        rule_files=[RULES],
        target_labels={"namespace": NAMESPACE},
    ) as prom:
        yield prom


@pytest.fixture(scope="session")
def scenario(prometheus: Prometheus, metrics_target: MetricsTarget) -> ScenarioWindow:
    """The scenario, played once per session; every expectation holds when this returns."""
    start = time.time()
    try:
        metrics_target.run_scenario(prometheus)
        for expr in SCENARIO_EXPECTATIONS:
            prometheus.wait_for(expr, timeout=60)
    except PromError as exc:
        raise PromError(f"{exc}\n{metrics_target.logs()}") from None
    return ScenarioWindow(start=start - 5, end=time.time() + 1)
