"""Logging set-up: structlog (JSON or console) for our events and stdlib's, behind secret redaction."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import types
import urllib.parse
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"

#: Keys (lower-case, `-` read as `_`) whose values are secrets whatever they hold.
_SECRET_KEYS = frozenset(
    {
        "ak",
        "sk",
        "securitytoken",
        "x_metadata_token",
        "access_key",
        "access_key_id",
        "secret_key",
        "secret_access_key",
        "secret",
        "password",
        "passwd",
        "token",
        "auth_token",
        "access_token",
        "id_token",
        "refresh_token",
        "security_token",
        "subject_token",
        "authorization",
        "proxy_authorization",
        "x_auth_token",
        "x_security_token",
        "x_subject_token",
        "cookie",
        "set_cookie",
        "api_key",
        "credentials",
    }
)
_SECRET_SUFFIXES = ("_password", "_secret", "_token", "_sk")

#: Credentials recognisable in free text even when nobody registered them.
_TEXT_PATTERNS = (
    re.compile(r"(?i)(\bAccess=)[^,\s\"']+"),
    re.compile(r"(?i)(\bSignature=)[0-9a-f]+"),
    re.compile(
        r"(?i)(\b(?:x-auth-token|x-security-token|x-subject-token|x-metadata-token)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s,\"'}]+"
    ),
)

_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None
_lock = threading.Lock()
_HANDLER_NAME = "dws-rebalancer"


def register_secrets(*values: str) -> None:
    """Mask these exact values anywhere in any log line, also JSON-, repr- and URL-escaped."""
    global _secret_re
    with _lock:
        for value in values:
            if value:
                _secrets.update(_encodings(value))
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
        _secret_re = re.compile("|".join(map(_alternative, ordered))) if ordered else None


#: A secret shorter than this is masked only as a word of its own: a one-letter test password
#: must not turn every "x" of every line into the mask (`ne[REDACTED]t_eligible`).
WHOLE_WORD_BELOW = 8


def _alternative(value: str) -> str:
    escaped = re.escape(value)
    return escaped if len(value) >= WHOLE_WORD_BELOW else rf"(?<!\w){escaped}(?!\w)"


def _encodings(value: str) -> set[str]:
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
    } - {""}


def scrub(text: str) -> str:
    """`text` with every registered secret and every recognisable credential masked."""
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for credential in _TEXT_PATTERNS:
        text = credential.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def _is_secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    norm = key.lower().replace("-", "_")
    return norm in _SECRET_KEYS or norm.endswith(_SECRET_SUFFIXES)


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {
            scrub(str(k)): REDACTED if _is_secret_key(k) else _clean(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return scrub(str(value))  # the renderer would str()/repr() it anyway, unmasked


def redact(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: mask secret-named keys and registered values; runs after `format_exc_info`."""
    return {
        key: REDACTED if _is_secret_key(key) and value not in (None, "") else _clean(value)
        for key, value in event_dict.items()
    }


def _scrub_rendered(logger: WrappedLogger, method_name: str, rendered: Any) -> str:
    # Belt and braces: a renderer may escape or join values in ways the dict pass cannot see.
    return scrub(str(rendered))


def _name_library_event(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # Lines from uvicorn, httpx, asyncio... keep their text but get a stable event name.
    event_dict["message"] = event_dict.get("event")
    event_dict["event"] = "library_log"
    return event_dict


def configure_logging(
    *, fmt: Literal["json", "console", "auto"], level: str, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting renderer on `stream` (stderr)."""
    out = stream if stream is not None else sys.stderr
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r} (use debug, info, warning or error)")
    console = fmt == "console" or (fmt == "auto" and _isatty(out))
    _install_root_handler(_handler(out, _renderer(out, console)), numeric)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            *_STAMP,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # configure_logging may run again (tests, CLI)
    )
    _install_exception_hooks()


#: What every line carries, from structlog and from the libraries' stdlib loggers alike.
_STAMP: list[Processor] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _renderer(out: TextIO, console: bool) -> Processor:
    if console:
        return structlog.dev.ConsoleRenderer(
            colors=_isatty(out), exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.processors.JSONRenderer()


def _handler(out: TextIO, renderer: Processor) -> logging.Handler:
    """The one stdlib handler: redacts before rendering and scrubs what was rendered."""
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_STAMP, _name_library_event],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                renderer,
                _scrub_rendered,
            ],
        )
    )
    return handler


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _install_root_handler(handler: logging.Handler, level: int) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per DWS request at info level would drown the decisions.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)


def _install_exception_hooks() -> None:
    """Uncaught exceptions are logged (redacted) instead of printed raw by the interpreter."""

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None
    ) -> None:
        get_logger("controller").critical("unhandled_exception", exc_info=(exc_type, exc, tb))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
