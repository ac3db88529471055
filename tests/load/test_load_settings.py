"""`policy.load` in the configuration: the issue's keys, defaults, overrides and one-line errors."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from controller.settings import ConfigError, LoadSettings, Settings, load_settings

BASE = """
endpoint: https://dws.cn-north-4.myhuaweicloud.com
project_id: "0a1b2c"
region: ap-southeast-1
auth: {ak: AKEXAMPLE, sk: file-sk}
"""
ISSUE_EXAMPLE = """
policy:
  load:
    cloud_eye:
      endpoint: https://ces.cn-north-4.myhuaweicloud.com
      limits:
        dws008_active_sql_count: 20
        dws010_cpu_usage: 60
      lookback: 15m
      filter: max
      max_metrics_per_call: 10
    prometheus:
      url: http://prometheus:9090
      blockers:
        - 'ALERTS{alertstate="firing", severity="critical"}'
      timeout: 10s
"""


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    return load_settings(path, environ=environ or {})


def test_off_by_default_today_s_behaviour() -> None:
    load = LoadSettings()
    assert load.cloud_eye.limits == {}
    assert load.prometheus.blockers == []
    assert load.schedule == "window"
    assert (load.cloud_eye.lookback, load.cloud_eye.filter) == (dt.timedelta(minutes=15), "max")
    assert load.cloud_eye.max_metrics_per_call == 10


def test_the_issues_example_loads(tmp_path: Path) -> None:
    settings = load(tmp_path, ISSUE_EXAMPLE)
    ces, prom = settings.policy.load.cloud_eye, settings.policy.load.prometheus
    assert ces.limits == {"dws008_active_sql_count": 20, "dws010_cpu_usage": 60}
    assert (ces.lookback, ces.filter, ces.max_metrics_per_call) == (
        dt.timedelta(minutes=15),
        "max",
        10,
    )
    assert settings.cloud_eye_endpoint(settings.policy.load) == ces.endpoint
    assert prom.url == "http://prometheus:9090"
    assert prom.blockers == ['ALERTS{alertstate="firing", severity="critical"}']
    assert prom.timeout == dt.timedelta(seconds=10)


def test_the_endpoint_defaults_to_the_regions(tmp_path: Path) -> None:
    settings = load(tmp_path, "policy: {load: {cloud_eye: {limits: {dws010_cpu_usage: 60}}}}")
    endpoint = settings.cloud_eye_endpoint(settings.policy.load)
    assert endpoint == "https://ces.ap-southeast-1.myhuaweicloud.com"


def test_an_override_sets_load_per_cluster_key_by_key(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        ISSUE_EXAMPLE
        + """
overrides:
  - match: "etl-*"
    policy:
      load:
        cloud_eye: {limits: {dws010_cpu_usage: 90}}
        schedule: quietest
""",
    )
    etl = settings.policy_for("id-1", "etl-nightly").load
    other = settings.policy_for("id-2", "sales").load
    assert etl.cloud_eye.limits == {"dws010_cpu_usage": 90}  # the limits replaced as a whole
    assert etl.cloud_eye.endpoint == "https://ces.cn-north-4.myhuaweicloud.com"  # the rest kept
    assert etl.prometheus == other.prometheus
    assert (etl.schedule, other.schedule) == ("quietest", "window")


def test_the_environment_sets_load_keys(tmp_path: Path) -> None:
    environ = {"DWS_REBALANCER_POLICY__LOAD__CLOUD_EYE__LIMITS": '{"dws009_session_count": 300}'}
    settings = load(tmp_path, "", environ)
    assert settings.policy.load.cloud_eye.limits == {"dws009_session_count": 300}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "cloud_eye: {limits: {cpu_usage: 60}}",
            "policy.load.cloud_eye.limits: unknown SYS.DWS metric 'cpu_usage'",
            id="unknown metric",
        ),
        pytest.param(
            "cloud_eye: {limits: {dws010_cpu_usage: -1}}",
            "the limit of dws010_cpu_usage must be a finite number >= 0, not -1.0",
            id="negative limit",
        ),
        pytest.param(
            "cloud_eye: {limits: {dws010_cpu_usage: .nan}}",
            "the limit of dws010_cpu_usage must be a finite number >= 0, not nan",
            id="NaN limit",
        ),
        pytest.param(
            "cloud_eye: {lookback: 4m}",
            "policy.load.cloud_eye.lookback: must be at least 5m",
            id="lookback inside a raw period",
        ),
        pytest.param(
            "cloud_eye: {filter: p99}",
            "policy.load.cloud_eye.filter: Input should be 'average', 'max', 'min', 'sum' or 'variance'",
            id="unknown filter",
        ),
        pytest.param(
            "cloud_eye: {max_metrics_per_call: 0}",
            "policy.load.cloud_eye.max_metrics_per_call: Input should be greater than or equal to 1",
            id="cap zero",
        ),
        pytest.param(
            "cloud_eye: {max_metrics_per_call: 501}",
            "policy.load.cloud_eye.max_metrics_per_call: Input should be less than or equal to 500",
            id="cap above any cloud's",
        ),
        pytest.param(
            "cloud_eye: {endpoint: 'ces.example.com'}",
            "policy.load.cloud_eye.endpoint: an http(s) URL with a host and no path",
            id="endpoint without scheme",
        ),
        pytest.param(
            "prometheus: {blockers: [up]}",
            "policy.load.prometheus: prometheus.blockers need prometheus.url",
            id="blockers without url",
        ),
        pytest.param(
            "prometheus: {url: 'http://p:9090', blockers: ['  ']}",
            "a blocker must be a PromQL query, not empty",
            id="empty blocker",
        ),
        pytest.param(
            "prometheus: {url: 'prometheus:9090'}",
            "policy.load.prometheus.url: an http(s) URL",
            id="url without scheme",
        ),
        pytest.param(
            "schedule: quietest",
            "policy.load: schedule: quietest builds its profile from cloud_eye.limits",
            id="quietest without limits",
        ),
        pytest.param("schedule: soon", "policy.load.schedule: Input should be", id="schedule"),
        pytest.param("cloudeye: {}", "policy.load.cloudeye: Extra inputs", id="misspelt key"),
    ],
)
def test_bad_load_settings_are_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    indented = "\n".join("    " + line for line in text.splitlines())
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"policy:\n  load:\n{indented}\n")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_prometheus_behind_a_path_prefix_is_fine(tmp_path: Path) -> None:
    settings = load(tmp_path, "policy: {load: {prometheus: {url: 'https://mon.example/prom/'}}}")
    assert settings.policy.load.prometheus.url == "https://mon.example/prom"


def test_a_bad_override_names_the_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"overrides\.0\.policy\.load\.cloud_eye\.limits"):
        load(
            tmp_path,
            "overrides: [{match: x, policy: {load: {cloud_eye: {limits: {cpu: 1}}}}}]",
        )


def test_the_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "policy: {load: {cloud_eye: {limits: {cpu: 1}}}}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "controller", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "unknown SYS.DWS metric 'cpu'" in result.stderr
    assert "Traceback" not in result.stderr
