"""Configuration: YAML + environment, durations, validation messages that name the field."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from controller.config_types import parse_duration
from controller.settings import ConfigError, load_settings

MINIMAL = """
endpoint: https://dws.cn-north-4.myhuaweicloud.com
project_id: "0a1b2c"
auth: {ak: AKEXAMPLE, sk: file-sk}
"""

FULL = """
endpoint: https://dws.cn-north-4.myhuaweicloud.com
project_id: "0a1b2c"
region: cn-north-4
enterprise_project_id: null
auth: {ak: AKEXAMPLE, sk: file-sk, security_token: null, token: null, username: null, password: null, domain: null}
poll_interval: 60s
tracking_interval: 5s
switchover_timeout: 30m
dry_run: false
paused: false
journal_path: ./dws-rebalancer.db
listen: 0.0.0.0:9108
log_format: auto
log_level: info
clusters:
  include: ["*"]
  exclude: []
  opt_out_tag: {key: dws-rebalancer, value: disabled}
policy:
  min_version: 8.1.1.202
  min_unbalanced_duration: 10m
  cooldown: 6h
  windows:
    - {days: [Mon, Tue, Wed, Thu, Fri], start: "01:00", end: "05:00", timezone: Asia/Shanghai}
  use_maintenance_window: true
  blackouts: [{start: 2026-12-31T00:00:00+08:00, end: 2027-01-02T00:00:00+08:00, reason: year-end}]
  max_per_day: 1
  max_concurrent: 1
  failure_limit: 3
  allow_degraded: false
  allow_readonly: false
overrides:
  - {match: "etl-*", policy: {cooldown: 12h}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("6h", 21600),
        ("1d", 86400),
        ("PT10M", 600),
        ("P1DT2H", 93600),
        ("pt30s", 30),
        (45, 45),
        ("1.5h", 5400),
        ("500ms", 0.5),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["soon", "10 minutes", "P", "PT", "-5m", "", True, None, [1]])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL), environ={})
    assert settings.policy.windows[0].timezone.key == "Asia/Shanghai"
    assert settings.policy_for("x", "etl-nightly").cooldown == dt.timedelta(hours=12)
    assert settings.policy_for("x", "sales").cooldown == dt.timedelta(hours=6)
    assert settings.policy.blackouts[0].reason == "year-end"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "DWS_REBALANCER_AUTH__SK": "env-sk",
        "DWS_REBALANCER_POLL_INTERVAL": "2m",
        "DWS_REBALANCER_POLICY__COOLDOWN": "1h",
        "DWS_REBALANCER_DRY_RUN": "true",
    }
    settings = load_settings(write(tmp_path, MINIMAL), environ=env)
    assert settings.auth.sk is not None
    assert settings.auth.sk.get_secret_value() == "env-sk"
    assert settings.auth.ak == "AKEXAMPLE"
    assert settings.poll_interval == dt.timedelta(minutes=2)
    assert settings.policy.cooldown == dt.timedelta(hours=1)
    assert settings.dry_run is True


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    settings = load_settings(None, environ={"DWS_REBALANCER_CONFIG": str(path)})
    assert settings.project_id == "0a1b2c"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("poll_interval: soon", "poll_interval: not a duration"),
        ("policy: {max_per_day: -1}", "policy.max_per_day"),
        ("policy: {min_version: 8.1}", "policy.min_version"),
        ("policy: {windows: [{start: '25:00', end: '05:00'}]}", "policy.windows.0.start"),
        (
            "policy: {windows: [{start: '01:00', end: '05:00', timezone: Mars/Olympus}]}",
            "unknown time zone",
        ),
        ("policy: {windows: [{days: [Moonday], start: '01:00', end: '05:00'}]}", "not a weekday"),
        (
            "policy: {blackouts: [{start: 2027-01-02T00:00:00+08:00, end: 2027-01-01T00:00:00+08:00}]}",
            "end must be after",
        ),
        ("overrides: [{match: 'etl-*', policy: {cooldown: often}}]", "overrides.0.policy.cooldown"),
        ("overrides: [{match: 'etl-*', policy: {colldown: 1h}}]", "overrides.0.policy.colldown"),
        ("polcy: {}", "polcy: Extra inputs are not permitted"),
        ("listen: nowhere", "listen: HOST:PORT"),
        ("log_format: xml", "log_format"),
        ("endpoint: ftp://dws", "endpoint"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("*", r"\*")):
        load_settings(write(tmp_path, MINIMAL + extra + "\n"), environ={})


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ("{ak: AK}", "needs both auth.ak and auth.sk"),
        ("{ak: AK, sk: S, token: T}", "more than one authentication method"),
        ("{username: u, password: p}", "needs auth.username, auth.password and auth.domain"),
        ("{token: T, security_token: X}", "security_token only goes with"),
    ],
)
def test_auth_validation(tmp_path: Path, auth: str, message: str) -> None:
    text = MINIMAL.replace("auth: {ak: AKEXAMPLE, sk: file-sk}", f"auth: {auth}")
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(write(tmp_path, text), environ={})
    assert "file-sk" not in str(info.value)


def test_secrets_never_in_errors_or_repr(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), environ={})
    assert "file-sk" not in repr(settings)
    assert "file-sk" not in str(settings.model_dump())
    with pytest.raises(ConfigError) as info:
        load_settings(
            write(tmp_path, MINIMAL + "poll_interval: x\n"),
            environ={"DWS_REBALANCER_AUTH__SK": "env-secret"},
        )
    assert "env-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("endpoint: [unclosed", "not valid YAML at line 1"), ("- a list", "must hold a mapping")],
)
def test_bad_yaml(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_unquoted_times_are_explained(tmp_path: Path) -> None:
    text = MINIMAL + "policy: {windows: [{start: 22:00, end: 05:00}]}\n"  # YAML 1.1: 22:00 is 1320
    with pytest.raises(ConfigError, match="quoted"):
        load_settings(write(tmp_path, text), environ={})


def test_a_config_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(MINIMAL.encode() + b"region: cn\xff\n")
    offset = len(MINIMAL.encode()) + len("region: cn")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert str(info.value) == (
        f"config file {path} is not UTF-8 text (byte 0xff at offset {offset})"
    )


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"cannot read config file {tmp_path}: Is a directory"):
        load_settings(tmp_path, environ={})


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    path.chmod(0)
    with pytest.raises(ConfigError, match=r"cannot read config file .*: Permission denied"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "1: 2\n", "keys must be names, not 1"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("just text", "must hold a mapping of keys, not str"),
    ],
)
def test_config_files_of_the_wrong_shape(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ={})


OUT_OF_RANGE = ["99999999999d", "P99999999999D", "3000000000w", "99999999999999999999"]


@pytest.mark.parametrize("value", [*OUT_OF_RANGE, ".inf", ".nan", "-.inf"])
def test_absurd_durations_in_yaml_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, MINIMAL + f"policy: {{cooldown: {value}}}\n"), environ={})
    message = str(info.value)
    assert message.startswith("invalid configuration: policy.cooldown: ")
    assert "out of range" in message or "finite number of seconds" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "message"),
    [*((v, "duration out of range") for v in OUT_OF_RANGE), ("inf", "not a"), ("nan", "not a")],
)
def test_absurd_durations_in_the_environment_are_refused(
    tmp_path: Path, value: str, message: str
) -> None:
    env = {"DWS_REBALANCER_SWITCHOVER_TIMEOUT": value}
    with pytest.raises(ConfigError, match=f"switchover_timeout: {message}"):
        load_settings(write(tmp_path, MINIMAL), environ=env)


def test_plain_numbers_and_go_durations_from_the_environment(tmp_path: Path) -> None:
    env = {
        "DWS_REBALANCER_POLL_INTERVAL": "30",
        "DWS_REBALANCER_TRACKING_INTERVAL": "1.5",
        "DWS_REBALANCER_POLICY__COOLDOWN": "1h30m",
    }
    settings = load_settings(write(tmp_path, MINIMAL), environ=env)
    assert settings.poll_interval == dt.timedelta(seconds=30)
    assert settings.tracking_interval == dt.timedelta(seconds=1.5)
    assert settings.policy.cooldown == dt.timedelta(minutes=90)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("poll_interval: 0.01", "poll_interval: must be at least 1s, not 10ms"),
        ("poll_interval: 999ms", "poll_interval: must be at least 1s, not 999ms"),
        ("tracking_interval: 0.2s", "tracking_interval: must be at least 500ms, not 200ms"),
        ("tracking_interval: 0.01", "tracking_interval: must be at least 500ms, not 10ms"),
    ],
)
def test_intervals_below_the_minimum_are_refused(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, MINIMAL + extra + "\n"), environ={})


def test_intervals_below_the_minimum_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="poll_interval: must be at least 1s"):
        load_settings(write(tmp_path, MINIMAL), environ={"DWS_REBALANCER_POLL_INTERVAL": "0.5"})


def test_intervals_at_the_minimum_are_accepted(tmp_path: Path) -> None:
    text = MINIMAL + "poll_interval: 1s\ntracking_interval: 500ms\n"
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.poll_interval == dt.timedelta(seconds=1)
    assert settings.tracking_interval == dt.timedelta(milliseconds=500)


def test_sub_second_policy_durations_survive_an_override(tmp_path: Path) -> None:
    text = MINIMAL + (
        "policy: {min_unbalanced_duration: 1500ms}\n"
        "overrides: [{match: 'etl-*', policy: {cooldown: 1h}}]\n"
    )
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.policy_for("x", "etl-1").min_unbalanced_duration == dt.timedelta(seconds=1.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DWS_REBALANCER_POLICY__WINDOWS", "[oops"),
        ("DWS_REBALANCER_POLICY", '{"cooldown": '),
        ("DWS_REBALANCER_AUTH", '{"sk": "env-secret"'),
        ("DWS_REBALANCER_OVERRIDES", "[{"),
    ],
)
def test_malformed_json_in_the_environment_names_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, MINIMAL), environ={name: value})
    message = str(info.value)
    assert message.startswith(f"environment variable {name} is not valid JSON (")
    assert value not in message  # it may be a secret
    assert "\n" not in message


def test_json_in_the_environment_still_works(tmp_path: Path) -> None:
    windows = '[{"start": "02:00", "end": "03:00", "timezone": "UTC"}]'
    env = {"DWS_REBALANCER_POLICY__WINDOWS": windows}
    settings = load_settings(write(tmp_path, MINIMAL), environ=env)
    assert settings.policy.windows[0].start == dt.time(2)


def test_one_problem_is_one_line_several_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as one:
        load_settings(write(tmp_path, MINIMAL + "poll_interval: soon\n"), environ={})
    assert str(one.value).startswith("invalid configuration: poll_interval: not a duration")
    assert "\n" not in str(one.value)
    text = MINIMAL + "poll_interval: soon\nlog_level: loud\n"
    with pytest.raises(ConfigError) as two:
        load_settings(write(tmp_path, text), environ={})
    lines = str(two.value).splitlines()
    assert lines[0] == "invalid configuration:"
    assert [line.split(":")[0] for line in lines[1:]] == ["poll_interval", "log_level"]


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "2026-02-30", "2026-12-01T25:00:00Z"])
def test_an_impossible_date_in_yaml_is_one_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"blackouts:\n  - start: {value}\n    end: {value}\n")
    with pytest.raises(ConfigError, match="holds an impossible value") as caught:
        load_settings(path, environ={})
    assert "\n" not in str(caught.value)
