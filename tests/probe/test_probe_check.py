"""One attempt's verdict: how libpq's errors are classified, and a refused port over a real socket."""

from __future__ import annotations

import socket

import psycopg
import pytest
from pydantic import SecretStr

from controller.probe.check import SqlCheck, classify, first_line
from controller.probe.endpoint import Target


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            'connection failed: connection to server at "10.0.0.1", port 8000 failed: FATAL:  '
            'password authentication failed for user "dws_probe"',
            "auth",
        ),
        ('FATAL:  no pg_hba.conf entry for host "10.0.0.7", user "dws_probe"', "auth"),
        ('FATAL:  permission denied for database "gaussdb"', "auth"),
        ('FATAL:  role "dws_probe" does not exist', "auth"),
        (
            'connection to server at "10.0.0.1", port 8000 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?",
            "refused",
        ),
        ("connection timeout expired", "timeout"),
        ("server closed the connection unexpectedly", "other"),
    ],
)
def test_classify(message: str, kind: str) -> None:
    assert classify(psycopg.OperationalError(message)) == kind


def test_a_query_cancelled_by_the_statement_timeout_is_a_timeout() -> None:
    assert classify(psycopg.errors.QueryCanceled("canceling statement")) == "timeout"


def test_first_line_drops_libpq_hints_and_masks_the_password() -> None:
    error = psycopg.OperationalError("failed: pw-123 here\n\tIs the server running?")
    assert first_line(error, "pw-123") == "failed: [REDACTED] here"
    assert first_line(psycopg.OperationalError(""), "") == "OperationalError"


async def test_nothing_listening_is_refused_at_the_tcp_check() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        check = SqlCheck(Target("127.0.0.1", port, "gaussdb", "u", SecretStr("pw")))
        outcome = await check.attempt()
    assert not outcome.ok
    assert outcome.kind == "refused"
    assert outcome.error == "TCP connect refused"
    assert check.connects == 0
