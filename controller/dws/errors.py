"""Typed DWS errors, and the mapping of any HTTP error response (whatever its body) onto them."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Mapping

#: `error_code` DWS returns when the cluster's state does not allow a switchover now.
STATE_CONFLICT_CODE = "DWS.0112"

_MAX_MESSAGE = 300
_WHITESPACE = re.compile(r"\s+")
_SECONDS = re.compile(r"\d+(\.\d+)?")

#: (code key, message key) pairs seen in the wild, most specific first.
_FLAT_SHAPES = (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message"))


class DwsError(Exception):
    """Anything that went wrong talking to DWS (or IAM)."""


class DwsApiError(DwsError):
    """DWS (or its gateway) answered with an HTTP error status."""

    #: The server's `Retry-After` hint in seconds (sent with 429, sometimes with 503), if any.
    retry_after: float | None = None

    def __init__(
        self,
        *,
        status: int,
        operation: str,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.operation = operation
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        code = f" {self.error_code}" if self.error_code else ""
        msg = f": {self.error_msg}" if self.error_msg else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.operation} failed: HTTP {self.status}{code}{msg}{rid}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self})"


class BadRequestError(DwsApiError):
    """400: DWS refused the request as invalid, e.g. the cluster is not in a state that allows it."""

    @property
    def state_conflict(self) -> bool:
        return self.error_code == STATE_CONFLICT_CODE


class AuthenticationError(DwsApiError):
    """401 (or an IAM login failure): the credentials were not accepted."""


class PermissionDeniedError(DwsApiError):
    """403: the credentials are valid but lack the IAM permission for this action."""


class NotFoundError(DwsApiError):
    """404: no such cluster (or route)."""


class ThrottledError(DwsApiError):
    """429: the API gateway refused the request; `retry_after` is its hint in seconds, if any."""


class ServerError(DwsApiError):
    """5xx: DWS or the gateway failed; the request may or may not have been applied."""


class DwsTransportError(DwsError):
    """No HTTP response: connection refused, reset or timed out (after any retries)."""

    def __init__(self, operation: str, detail: str, *, sent: bool | None = None) -> None:
        self.operation = operation
        self.detail = detail
        #: False = the request certainly never left (connect failed); None = it may have arrived.
        self.sent = sent
        super().__init__(f"{operation} failed: {detail}")


class MalformedResponseError(DwsError):
    """A response (or one entry of it) did not have the documented shape."""


def unreadable(exc: Exception) -> str:
    """Why decoding or parsing an answer failed, in a few words that never quote the answer."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return f"unexpected content ({type(exc).__name__})"


_BY_STATUS: dict[int, type[DwsApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
}


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    operation: str,
    *,
    now: dt.datetime | None = None,
) -> DwsApiError:
    """The typed error for an HTTP error response; never fails, whatever the body holds.

    `headers` should be case-insensitive (an `httpx.Headers`) or use lower-case names.
    `now` is needed only to turn an HTTP-date `Retry-After` into seconds.
    """
    try:
        code, message, body_request_id = _read_body(status, headers, body)
    except MemoryError:
        raise
    except Exception as exc:  # whatever the body holds (nesting, odd types), this never fails
        code, body_request_id = None, None
        message = f"HTTP {status} with an unreadable body ({unreadable(exc)})"
    if code == str(status):  # IAM's {"error": {"code": 401}} repeats the status: no news
        code = None
    error = _error_class(status)(
        status=status,
        operation=operation,
        error_code=code,
        error_msg=message,
        request_id=headers.get("x-request-id") or body_request_id,
    )
    error.retry_after = parse_retry_after(headers.get("retry-after"), now)
    return error


def _error_class(status: int) -> type[DwsApiError]:
    if status == 429:
        return ThrottledError
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, DwsApiError)


def _read_body(
    status: int, headers: Mapping[str, str], body: bytes
) -> tuple[str | None, str | None, str | None]:
    """(error code, message, request id) from any of the known body shapes, or a summary."""
    if not body.strip():
        return None, f"HTTP {status} with an empty body", None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        kind = headers.get("content-type", "").split(";")[0].strip() or "no content type"
        return None, f"HTTP {status} with a non-JSON body ({kind})", None
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        return None, f"HTTP {status} with an unexpected JSON {kind} body", None
    nested = data.get("error")
    source = nested if isinstance(nested, dict) else data  # IAM nests {"error": {code, message}}
    for code_key, msg_key in _FLAT_SHAPES:
        if code_key in source or msg_key in source:
            return (
                _text(source.get(code_key)),
                _text(source.get(msg_key)),
                _text(data.get("request_id")),
            )
    return (
        None,
        f"HTTP {status} with an unrecognised JSON error body",
        _text(data.get("request_id")),
    )


def _text(value: object) -> str | None:
    """One readable line: whitespace collapsed, long text cut, empty → None."""
    if value is None:
        return None
    text = _WHITESPACE.sub(" ", str(value)).strip()
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
    return text or None


def parse_retry_after(value: str | None, now: dt.datetime | None) -> float | None:
    """`Retry-After` as seconds from now (never negative): delta-seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    if now is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT by definition
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())
