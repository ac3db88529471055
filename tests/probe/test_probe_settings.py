"""`policy.probe` in the configuration: the issue's keys, per-cluster overrides, no password leaks."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest

from controller.settings import ConfigError, ProbeSettings, load_settings

BASE = """
endpoint: https://dws.cn-north-4.myhuaweicloud.com
project_id: "0a1b2c"
auth: {ak: AKEXAMPLE, sk: file-sk}
"""


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    return load_settings(path, environ=environ or {})


def test_off_by_default() -> None:
    assert ProbeSettings().enabled is False
    assert ProbeSettings().interval == dt.timedelta(seconds=1)
    assert ProbeSettings().tail == dt.timedelta(seconds=30)


def test_the_issues_example_loads(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
policy:
  probe:
    enabled: true
    host: dws-sales.internal
    port: 8000
    database: gaussdb
    user: dws_probe
    password: "s3cret-Example"
    interval: 1s
    tail: 30s
""",
    )
    probe = settings.policy.probe  # type: ignore[attr-defined]
    assert (probe.host, probe.port, probe.database, probe.user) == (
        "dws-sales.internal",
        8000,
        "gaussdb",
        "dws_probe",
    )
    assert probe.password.get_secret_value() == "s3cret-Example"
    assert "s3cret-Example" not in repr(settings)
    assert probe.secret_values() == ["s3cret-Example"]


def test_an_override_changes_single_probe_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
policy:
  probe: {enabled: true, user: dws_probe, password_file: /secrets/probe}
overrides:
  - match: dws-sales
    policy: {probe: {host: dws-sales.internal}}
  - match: dws-batch
    policy: {probe: {enabled: false}}
""",
    )
    sales = settings.policy_for("id-1", "dws-sales").probe  # type: ignore[attr-defined]
    assert sales.enabled
    assert sales.host == "dws-sales.internal"
    assert sales.user == "dws_probe"
    assert sales.password_file == Path("/secrets/probe")
    assert settings.policy_for("id-2", "dws-batch").probe.enabled is False  # type: ignore[attr-defined]
    assert settings.policy_for("id-3", "other").probe.host is None  # type: ignore[attr-defined]


def test_the_password_can_come_from_the_environment(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(12)
    settings = load(
        tmp_path,
        "policy: {probe: {enabled: true, user: dws_probe}}\n",
        {"DWS_REBALANCER_POLICY__PROBE__PASSWORD": password},
    )
    assert settings.policy.probe.password.get_secret_value() == password  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ("{enabled: true, password: PWVALUE}", "policy.probe: an enabled probe needs probe.user"),
        ("{enabled: true, user: u}", "needs probe.password or probe.password_file"),
        (
            "{password: PWVALUE, password_file: /x}",
            "probe.password or probe.password_file, not both",
        ),
        ("{interval: 100ms}", "policy.probe.interval: must be at least 500ms"),
        ("{connect_timeout: 10ms}", "policy.probe.connect_timeout: must be at least 100ms"),
        ("{port: 70000}", "policy.probe.port"),
        ("{host: 'a b'}", "policy.probe.host: a host name or address without spaces"),
        ("{tail: -1s}", "policy.probe.tail"),
        ("{enabled: true, user: u, password: PWVALUE, colour: red}", "policy.probe.colour"),
    ],
)
def test_bad_probe_settings_are_one_clear_line(tmp_path: Path, probe: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"policy: {{probe: {probe}}}\n")
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert "PWVALUE" not in text


def test_a_bad_override_names_its_probe_key_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            """
policy:
  probe: {enabled: true, user: dws_probe, password: PWVALUE}
overrides:
  - match: dws-sales
    policy: {probe: {password_file: /secrets/probe}}
""",
        )
    assert "overrides.0.policy.probe: set probe.password or probe.password_file, not both" in str(
        caught.value
    )
    assert "PWVALUE" not in str(caught.value)
