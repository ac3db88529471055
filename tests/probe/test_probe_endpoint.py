"""Where the probe connects and with which password: configured, from the detail answer, or nowhere."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest

from controller.logs import scrub
from controller.probe.endpoint import (
    APPLICATION_NAME,
    DEFAULT_PORT,
    ProbeUnavailable,
    build_target,
    detail_endpoint,
    parse_host_port,
)
from controller.settings import ProbeSettings
from controller.simulator import render
from controller.simulator.cluster import SimCluster

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def probe(**fields: object) -> ProbeSettings:
    return ProbeSettings.model_validate({"enabled": True, "user": "dws_probe", **fields})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.0.10:8000", ("192.168.0.10", 8000)),
        ("dws-sales.dws.myhuaweicloud.com:8000", ("dws-sales.dws.myhuaweicloud.com", 8000)),
        ("[fd00::10]:8000", ("fd00::10", 8000)),
        ("10.0.0.1:8000,10.0.0.2:8000", ("10.0.0.1", 8000)),  # several CNs: the first
        (" 10.0.0.1:8000 ", ("10.0.0.1", 8000)),
        ("10.0.0.1", None),
        ("10.0.0.1:0", None),
        ("10.0.0.1:70000", None),
        ("fd00::10:8000", None),  # ambiguous without brackets
        ("", None),
        (None, None),
        (8000, None),
    ],
)
def test_host_port(text: object, expected: tuple[str, int] | None) -> None:
    assert parse_host_port(text) == expected


def test_the_emulators_detail_answer_gives_its_private_endpoint() -> None:
    cluster = SimCluster(id="c1", name="dws-sales")
    answer = {"cluster": render.detail(cluster, T0)}  # the body as the API wraps it
    found = detail_endpoint(answer)
    assert found is not None
    assert f"{found[0]}:{found[1]}" == answer["cluster"]["endpoints"][0]["connect_info"]


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        (
            {"endpoints": [], "public_endpoints": [{"public_connect_info": "1.2.3.4:8000"}]},
            ("1.2.3.4", 8000),
        ),
        (
            {"endpoints": [{"connect_info": "nonsense"}, {"connect_info": "10.0.0.9:8000"}]},
            ("10.0.0.9", 8000),
        ),
        ({"endpoints": None, "public_endpoints": "1.2.3.4:8000"}, None),
        ({"endpoints": [["10.0.0.9:8000"]]}, None),
        ({}, None),
    ],
)
def test_endpoint_fallbacks_and_hostile_shapes(
    cluster: dict[str, object], expected: tuple[str, int] | None
) -> None:
    assert detail_endpoint({"cluster": cluster}) == expected
    assert detail_endpoint(cluster) == expected  # the inner object works as well


def test_a_configured_host_wins_and_a_configured_port_applies_to_either() -> None:
    detail = {"cluster": {"endpoints": [{"connect_info": "10.0.0.9:8000"}]}}
    pw = {"password": "pw"}
    assert build_target(probe(host="dws.internal", **pw), detail).host == "dws.internal"
    assert build_target(probe(host="dws.internal", **pw), detail).port == DEFAULT_PORT
    assert build_target(probe(host="dws.internal", port=8100, **pw)).port == 8100
    from_detail = build_target(probe(port=8100, **pw), detail)
    assert (from_detail.host, from_detail.port) == ("10.0.0.9", 8100)


def test_no_endpoint_anywhere_means_no_probe() -> None:
    with pytest.raises(ProbeUnavailable, match="no usable endpoint"):
        build_target(probe(password="pw"), {"cluster": {"endpoints": []}})
    with pytest.raises(ProbeUnavailable, match="no usable endpoint"):
        build_target(probe(password="pw"), None)


def test_a_disabled_probe_builds_no_target() -> None:
    with pytest.raises(ProbeUnavailable, match="disabled"):
        build_target(ProbeSettings(host="h"))


def test_the_target_carries_the_settings_and_hides_the_password() -> None:
    password = secrets.token_urlsafe(12)
    target = build_target(
        probe(host="h", password=password, interval="2s", connect_timeout="1500ms", tail="5s")
    )
    assert (target.interval, target.connect_timeout, target.statement_timeout) == (2.0, 1.5, 2.0)
    assert target.application_name == APPLICATION_NAME == "dws-rebalancer-probe"
    assert target.database == "gaussdb"
    assert password not in repr(target)
    assert password not in str(target)
    assert scrub(f"oops {password}") == "oops [REDACTED]"


def test_a_password_file_is_read_then_masked_in_logs(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(12)
    path = tmp_path / "password"
    path.write_text(password + "\n", encoding="utf-8")
    assert scrub(password) == password  # unknown before the probe reads it
    target = build_target(probe(host="h", password_file=str(path)))
    assert target.password.get_secret_value() == password  # the newline is not part of it
    assert scrub(f"x {password} y") == "x [REDACTED] y"


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read probe.password_file .*No such file"), ("\n", "is empty")],
)
def test_an_unusable_password_file_means_no_probe(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ProbeUnavailable, match=message):
        build_target(probe(host="h", password_file=str(path)))


def test_a_password_file_that_is_not_text_means_no_probe(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_bytes(b"\xff\xfe secret")
    with pytest.raises(ProbeUnavailable, match="UnicodeDecodeError") as caught:
        build_target(probe(host="h", password_file=str(path)))
    assert "secret" not in str(caught.value)
