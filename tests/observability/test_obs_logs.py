"""Logging: event dicts, JSON/console rendering, stdlib routing, and redaction of every secret."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from controller import logs
from controller.logs import REDACTED, configure_logging, get_logger, redact, register_secrets

SECRET = 'Sk/9+x"Q\\secret=7'  # slash, plus, quote, backslash: survives JSON, repr and URL escaping
REDACTING = [structlog.processors.format_exc_info, redact]


@pytest.fixture(autouse=True)
def isolated_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets no registered secrets and leaves logging as it found it."""
    monkeypatch.setattr(logs, "_secrets", set())
    monkeypatch.setattr(logs, "_secret_re", None)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    hooks = (sys.excepthook, threading.excepthook)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in chatty.items():
        logging.getLogger(name).setLevel(old)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)
    structlog.reset_defaults()


@pytest.mark.parametrize(
    "key",
    [
        "sk",
        "SK",
        "ak",
        "secret_key",
        "password",
        "db_password",
        "token",
        "id_token",
        "security_token",
        "Authorization",
        "X-Auth-Token",
        "x_security_token",
        "X-Subject-Token",
        "cookie",
    ],
)
def test_secret_named_keys_are_masked(key: str) -> None:
    with capture_logs(processors=REDACTING) as events:
        get_logger().info("auth_configured", **{key: "value-123"})
    assert events[0][key] == REDACTED


@pytest.mark.parametrize("key", ["cluster", "reason", "detail", "token_expires_at", "operation"])
def test_ordinary_keys_are_kept(key: str) -> None:
    with capture_logs(processors=REDACTING) as events:
        get_logger().info("decision", **{key: "value-123"})
    assert events[0][key] == "value-123"


def test_registered_values_are_masked_anywhere_in_any_structure() -> None:
    register_secrets(SECRET, "")

    class Holder:
        def __str__(self) -> str:
            return f"Holder({SECRET})"

    with capture_logs(processors=REDACTING) as events:
        get_logger().warning(
            "request_failed",
            detail=f"HTTP 401 for {SECRET}",
            headers={"Accept": "application/json", "X-Custom": [SECRET, 1, None]},
            extra=(SECRET,),
            obj=Holder(),
            escaped=json.dumps(SECRET),
            count=3,
        )
    event = events[0]
    assert SECRET not in repr(event)
    assert json.dumps(SECRET)[1:-1] not in repr(event)
    assert event["detail"] == f"HTTP 401 for {REDACTED}"
    assert event["headers"]["X-Custom"] == [REDACTED, 1, None]
    assert event["count"] == 3


def test_a_short_secret_is_masked_as_a_word_not_inside_other_words() -> None:
    """A one-letter test password masks the password, not every such letter of every line."""
    register_secrets("x7")
    with capture_logs(processors=REDACTING) as events:
        get_logger().info("decision", detail="next_eligible x7; password=x7", other="x7y")
    assert events[0]["detail"] == f"next_eligible {REDACTED}; password={REDACTED}"
    assert events[0]["other"] == "x7y"


def test_credentials_in_free_text_are_masked_without_registration() -> None:
    line = "Authorization: SDK-HMAC-SHA256 Access=AKID123, SignedHeaders=host, Signature=0a1b2c"
    with capture_logs(processors=REDACTING) as events:
        get_logger().info("request_sent", detail=line, note="X-Auth-Token: tok-42 sent")
    assert "AKID123" not in events[0]["detail"]
    assert "0a1b2c" not in events[0]["detail"]
    assert events[0]["note"] == f"X-Auth-Token: {REDACTED} sent"


def test_traceback_of_a_logged_exception_is_masked() -> None:
    register_secrets(SECRET)
    with capture_logs(processors=REDACTING) as events:
        try:
            raise RuntimeError(f"IAM rejected {SECRET}")
        except RuntimeError:
            get_logger().exception("token_refresh_failed")
    assert "Traceback" in events[0]["exception"]
    assert "RuntimeError: IAM rejected [REDACTED]" in events[0]["exception"]
    assert SECRET not in events[0]["exception"]


def _configured(fmt: str, level: str = "info") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(fmt=fmt, level=level, stream=stream)  # type: ignore[arg-type]
    return stream


def test_json_lines_carry_event_level_logger_and_fields() -> None:
    stream = _configured("json")
    get_logger("controller.loop.cycle").info(
        "decision", cluster="dws-a", action="blocked", reason="cooldown", detail="6h cooldown"
    )
    line = json.loads(stream.getvalue())
    assert line["event"] == "decision"
    assert (line["level"], line["logger"]) == ("info", "controller.loop.cycle")
    assert {k: line[k] for k in ("cluster", "action", "reason", "detail")} == {
        "cluster": "dws-a",
        "action": "blocked",
        "reason": "cooldown",
        "detail": "6h cooldown",
    }
    assert line["timestamp"].endswith("Z")


def test_stdlib_records_are_rendered_and_redacted_the_same_way() -> None:
    stream = _configured("json")
    register_secrets(SECRET)
    logging.getLogger("uvicorn.error").warning("bad header %s", SECRET)
    line = json.loads(stream.getvalue())
    assert line["event"] == "library_log"
    assert line["logger"] == "uvicorn.error"
    assert line["message"] == f"bad header {REDACTED}"


def test_console_format_is_human_readable_and_redacted() -> None:
    stream = _configured("console")
    register_secrets(SECRET)
    get_logger().info("controller_started", sk=SECRET, poll_interval="60s")
    out = stream.getvalue()
    assert "controller_started" in out
    assert "poll_interval=60s" in out
    assert SECRET not in out
    assert not out.startswith("{")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "is_json"), [(io.StringIO(), True), (_Tty(), False)])
def test_auto_format_is_console_on_a_tty_and_json_otherwise(
    stream: io.StringIO, is_json: bool
) -> None:
    configure_logging(fmt="auto", level="info", stream=stream)
    get_logger().info("controller_started")
    assert stream.getvalue().startswith("{") is is_json


@pytest.mark.parametrize(
    ("level", "shown"),
    [("debug", {"d", "i", "w"}), ("info", {"i", "w"}), ("WARNING", {"w"}), ("error", set())],
)
def test_level_filters_structlog_and_stdlib(level: str, shown: set[str]) -> None:
    stream = _configured("json", level)
    log = get_logger("controller")
    log.debug("d")
    log.info("i")
    logging.getLogger("controller.other").warning("w")
    seen = {
        json.loads(line).get("message") or json.loads(line)["event"]
        for line in stream.getvalue().splitlines()
    }
    assert seen == shown


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging(fmt="json", level="loud", stream=io.StringIO())


def test_reconfiguring_does_not_duplicate_lines() -> None:
    _configured("json")
    stream = _configured("json")
    get_logger().info("once")
    assert len(stream.getvalue().splitlines()) == 1


SUBPROCESS = textwrap.dedent(
    """
    import logging, sys, threading, warnings
    from controller.logs import configure_logging, get_logger, register_secrets

    secret = sys.argv[1]
    configure_logging(fmt="json", level="debug")
    register_secrets(secret)
    log = get_logger("controller.test")
    log.info("plain", detail="sk is " + secret)
    log.info("by_key", sk=secret, headers={"X-Security-Token": secret})
    log.debug("formatted", detail=f"{secret!r} and %s" % secret)
    logging.getLogger("httpx").error("url https://iam/?token=%s", secret)
    warnings.warn("deprecated " + secret)
    try:
        raise ValueError("caught " + secret)
    except ValueError:
        log.exception("caught_error")
    thread = threading.Thread(target=lambda: 1 / 0 if secret else None)
    thread.start(); thread.join()
    raise RuntimeError("uncaught " + secret)
    """
)


def test_raw_output_of_a_process_never_contains_the_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUBPROCESS, SECRET],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1  # the uncaught exception still ends the process
    raw = result.stdout + result.stderr
    assert SECRET not in raw
    for escaped in (json.dumps(SECRET)[1:-1], repr(SECRET)[1:-1]):
        assert escaped not in raw
    lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
    events = [line["event"] for line in lines]
    assert events == [
        "plain",
        "by_key",
        "formatted",
        "library_log",
        "library_log",
        "caught_error",
        "unhandled_exception",
        "unhandled_exception",
    ]
    assert "uncaught [REDACTED]" in lines[-1]["exception"]
