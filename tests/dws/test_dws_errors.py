"""Every error body shape and status maps to a typed error with one readable line."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from controller.dws.errors import (
    AuthenticationError,
    BadRequestError,
    DwsApiError,
    DwsTransportError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
    error_from_response,
    parse_retry_after,
)

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
NGINX_503 = b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body></body></html>"


def _map(status: int, body: bytes, headers: dict[str, str] | None = None) -> DwsApiError:
    return error_from_response(status, httpx.Headers(headers or {}), body, "switchover", now=NOW)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, ThrottledError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (409, DwsApiError),
        (418, DwsApiError),
    ],
)
def test_status_picks_the_class(status: int, cls: type[DwsApiError]) -> None:
    error = _map(status, b"")
    assert type(error) is cls
    assert error.status == status
    assert error.operation == "switchover"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"error_code": "DWS.0112", "error_msg": "Cluster state is abnormal."},
            "DWS.0112",
            "Cluster state is abnormal.",
        ),
        (
            {"code": "APIGW.0301", "message": "Incorrect IAM authentication information"},
            "APIGW.0301",
            "Incorrect IAM authentication information",
        ),
        ({"errorCode": "DWS.0001", "errorMsg": "Bad parameter"}, "DWS.0001", "Bad parameter"),
        (
            {
                "error": {
                    "code": 401,
                    "message": "The request you have made requires authentication.",
                    "title": "Unauthorized",
                }
            },
            "401",
            "The request you have made requires authentication.",
        ),
        ({"error_code": "DWS.0002"}, "DWS.0002", None),
        ({"error_msg": "only a message"}, None, "only a message"),
        ({"error_code": "", "error_msg": "  spaced\n out\tmessage  "}, None, "spaced out message"),
    ],
)
def test_every_body_shape(body: dict[str, object], code: str | None, message: str | None) -> None:
    error = _map(400, json.dumps(body).encode())
    assert (error.error_code, error.error_msg) == (code, message)


@pytest.mark.parametrize(
    ("status", "body", "headers", "message"),
    [
        (404, b"", {}, "HTTP 404 with an empty body"),
        (500, b"  \n", {}, "HTTP 500 with an empty body"),
        (
            503,
            NGINX_503,
            {"Content-Type": "text/html; charset=utf-8"},
            "HTTP 503 with a non-JSON body (text/html)",
        ),
        (502, b"Bad Gateway", {}, "HTTP 502 with a non-JSON body (no content type)"),
        (
            500,
            b'{"error_code": "DWS.',
            {"Content-Type": "application/json"},
            "HTTP 500 with a non-JSON body (application/json)",
        ),
        (500, b"\xff\xfe\x00", {}, "HTTP 500 with a non-JSON body (no content type)"),
        (500, b'["a", "b"]', {}, "HTTP 500 with an unexpected JSON list body"),
        (500, b"null", {}, "HTTP 500 with an unexpected JSON null body"),
        (500, b'{"weird": true}', {}, "HTTP 500 with an unrecognised JSON error body"),
    ],
)
def test_bodies_without_an_error_object_are_summarised(
    status: int, body: bytes, headers: dict[str, str], message: str
) -> None:
    error = _map(status, body, headers)
    assert error.error_code is None
    assert error.error_msg == message
    assert "<html>" not in str(error)


def test_long_messages_are_cut_to_one_readable_line() -> None:
    error = _map(500, json.dumps({"error_code": "X", "error_msg": "boom\n" * 500}).encode())
    assert error.error_msg is not None
    assert len(error.error_msg) == 300
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("headers", "body", "request_id"),
    [
        ({"X-Request-Id": "hdr-1"}, {"error_code": "A"}, "hdr-1"),
        ({}, {"error_code": "A", "request_id": "body-1"}, "body-1"),
        ({"x-request-id": "hdr-2"}, {"error_code": "A", "request_id": "body-2"}, "hdr-2"),
        ({}, {"error": {"code": "B", "message": "m"}, "request_id": "body-3"}, "body-3"),
        ({}, {"error_code": "A"}, None),
    ],
)
def test_request_id_from_header_or_body(
    headers: dict[str, str], body: dict[str, object], request_id: str | None
) -> None:
    assert _map(400, json.dumps(body).encode(), headers).request_id == request_id


def test_str_is_one_line_with_everything_useful() -> None:
    body = {"error_code": "DWS.0112", "error_msg": "Cluster state is abnormal."}
    error = _map(400, json.dumps(body).encode(), {"X-Request-Id": "r-9"})
    assert str(error) == (
        "switchover failed: HTTP 400 DWS.0112: Cluster state is abnormal. (request id r-9)"
    )
    assert repr(error) == f"BadRequestError({error})"


@pytest.mark.parametrize(
    ("code", "conflict"), [("DWS.0112", True), ("DWS.0001", False), (None, False)]
)
def test_state_conflict_is_dws_0112(code: str | None, conflict: bool) -> None:
    body = json.dumps({"error_code": code, "error_msg": "x"}).encode()
    error = _map(400, body)
    assert isinstance(error, BadRequestError)
    assert error.state_conflict is conflict


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        ("0", 0.0),
        (" 1.5 ", 1.5),
        ("Wed, 04 Mar 2026 05:06:37 GMT", 30.0),
        ("Wed, 04 Mar 2026 05:00:00 GMT", 0.0),  # in the past: go now
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_http_date_needs_now() -> None:
    assert parse_retry_after("Wed, 04 Mar 2026 05:06:37 GMT", None) is None


def test_throttled_error_carries_retry_after() -> None:
    error = _map(
        429, b'{"error_code": "APIGW.0308", "error_msg": "throttled"}', {"Retry-After": "7"}
    )
    assert isinstance(error, ThrottledError)
    assert error.retry_after == 7.0


def test_transport_error_is_one_line() -> None:
    error = DwsTransportError("list_clusters", "timed out (ReadTimeout)", sent=None)
    assert str(error) == "list_clusters failed: timed out (ReadTimeout)"
    assert error.operation == "list_clusters"


def test_a_code_that_only_repeats_the_status_is_dropped() -> None:
    body = {"error": {"code": 401, "title": "Unauthorized", "message": "The token has expired."}}
    error = _map(401, json.dumps(body).encode())
    assert error.error_code is None
    assert str(error) == "switchover failed: HTTP 401: The token has expired."
