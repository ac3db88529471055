"""Configuration value types: the duration grammar, its limits, and HOST:PORT addresses."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.config_types import (
    MAX_DURATION_DAYS,
    format_duration,
    parse_duration,
    parse_listen,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m", 5400),
        ("1d12h", 129600),
        ("1m30s", 90),
        ("1w2d", 9 * 86400),
        ("2h0m5s500ms", 7205.5),
        ("1h 30m", 5400),
        ("30", 30),
        ("1.5", 1.5),
        (" 45 ", 45),
        ("0", 0),
        (f"{MAX_DURATION_DAYS}d", MAX_DURATION_DAYS * 86400),
        (MAX_DURATION_DAYS * 86400, MAX_DURATION_DAYS * 86400),
    ],
)
def test_go_style_combinations_and_plain_numbers(text: object, seconds: float) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["30m1h", "1h1h", "500ms1s", "1h30", "1.5.5s", "-30", "1e3"])
def test_malformed_combinations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "value",
    [
        "99999999999d",
        "P99999999999D",
        "3000000000w",
        "PT99999999999H",
        f"{MAX_DURATION_DAYS + 1}d",
        MAX_DURATION_DAYS * 86400 + 1,
        10**400,  # YAML integers have no size limit
        "9" * 400,
        -(10**30),
    ],
)
def test_absurdly_long_durations_are_out_of_range(value: object) -> None:
    with pytest.raises(
        ValueError, match=rf"duration out of range: .* \(at most {MAX_DURATION_DAYS} days\)"
    ):
        parse_duration(value)


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(ValueError, match="out of range") as info:
        parse_duration("9" * 400)
    assert len(str(info.value)) < 100


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="must be a finite number of seconds"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(milliseconds=500), "500ms"),
        (dt.timedelta(seconds=1.5), "1500ms"),
        (dt.timedelta(microseconds=1500), "1.5ms"),
        (dt.timedelta(hours=6), "6h"),
        (dt.timedelta(minutes=90), "90m"),
        (dt.timedelta(0), "0s"),
    ],
)
def test_format_duration_round_trips_sub_second_values(delta: dt.timedelta, text: str) -> None:
    assert format_duration(delta) == text
    assert parse_duration(text) == delta


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:9108", ("127.0.0.1", 9108)),
        (":0", ("", 0)),
        ("h:65535", ("h", 65535)),
        ("[::]:9108", ("::", 9108)),
        ("[::1]:0", ("::1", 0)),
        ("[fd00::a:1]:9108", ("fd00::a:1", 9108)),
    ],
)
def test_listen_addresses(text: str, parsed: tuple[str, int]) -> None:
    assert parse_listen(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "HOST:PORT, not 'nope'"),
        ("127.0.0.1:", "HOST:PORT"),
        ("127.0.0.1:-5", "HOST:PORT"),
        ("127.0.0.1:²", "HOST:PORT"),  # str.isdigit() says yes, int() says no
        ("127.0.0.1:70000", "port from 0 to 65535"),
        ("127.0.0.1:999999", "HOST:PORT"),
        ("::1:9108", r"an IPv6 host in brackets, e\.g\. \[::\]:9108, not '::1:9108'"),
        (":::9108", "an IPv6 host in brackets"),
        ("[::1:9108", "an IPv6 host in brackets"),
        ("[not-v6]:9108", "an IPv6 address inside the brackets, not '\\[not-v6\\]:9108'"),
        ("[127.0.0.1]:9108", "an IPv6 address inside the brackets"),
    ],
)
def test_bad_listen_addresses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_listen(text)
