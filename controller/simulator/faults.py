"""Fault plans for the emulator: which operation misbehaves next, how, and how many more times.

The injector only holds and validates plans and renders canned replies; the ASGI app
(`controller.simulator.app`) acts them out, including the connection-level ones.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

OPERATIONS = (
    "list_clusters",
    "get_cluster",
    "switchover",
    "iam_token",
    "metadata_token",
    "metadata_securitykey",
    "iam_id_token",
    "iam_securitytoken",
    "pod_identity",
)
ANY_OPERATION = "*"
#: Kinds answered with a ready-made HTTP response instead of the real one.
CANNED_KINDS = frozenset(
    {"status", "html_503", "throttle", "empty", "malformed", "wrong_shape", "alt_error"}
)
#: Kinds acted out at connection level (or by delaying the real answer).
FLOW_KINDS = frozenset({"latency", "timeout", "reset", "lost_response"})
KINDS = CANNED_KINDS | FLOW_KINDS

_PARAMS: dict[str, frozenset[str]] = {
    "status": frozenset({"status", "body", "headers"}),
    "html_503": frozenset({"status", "headers"}),
    "throttle": frozenset({"status", "retry_after", "headers"}),
    "empty": frozenset({"status", "headers"}),
    "malformed": frozenset({"body", "headers"}),
    "wrong_shape": frozenset({"body", "headers"}),
    "alt_error": frozenset({"status", "shape", "code", "message", "headers"}),
    "latency": frozenset({"seconds"}),
    "timeout": frozenset({"seconds"}),
    "reset": frozenset(),
    "lost_response": frozenset({"mode", "seconds"}),
}
_NGINX_503 = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_TRUNCATED = {
    "list_clusters": b'{"clusters": [{"id": "7d85f602-a948-4a30-afd4-e84f47471c15", "name": ',
    "get_cluster": b'{"cluster": {"id": "7d85f602-a948-4a30-afd4-e84f47471c15", "sta',
    "iam_token": b'{"token": {"expires_at": "20',
}
_WRONG_SHAPE: dict[str, Any] = {
    "list_clusters": {"clusters": "oops", "count": "many"},
    "get_cluster": {"cluster": ["oops"]},
    "switchover": ["oops"],
    "iam_token": {"token": "oops"},
}
DEFAULT_HANG_SECONDS = 60.0


class ConnectionDropped(Exception):
    """Raised by the app after a deliberately incomplete response: the connection must drop."""


@dataclass
class Fault:
    """One plan: `operation` misbehaves as `kind` for the next `times` requests (None: until cleared)."""

    operation: str
    kind: str
    times: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)

    def seconds(self, default: float = DEFAULT_HANG_SECONDS) -> float:
        return float(self.params.get("seconds", default))


@dataclass(frozen=True)
class Reply:
    """An HTTP response to send as it is."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


class FaultInjector:
    """Pending fault plans, consumed first-in first-out by the operation they name (or `*`)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, operation: str, kind: str, *, times: int | None = 1, **params: Any) -> Fault:
        fault = Fault(operation, kind, times, params)
        validate(fault)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation: str) -> Fault | None:
        """The fault for this request, if any, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.operation in (operation, ANY_OPERATION):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)


def validate(fault: Fault) -> None:
    """Reject a plan that names an unknown operation, kind or parameter, or a bad value."""
    if fault.operation not in (*OPERATIONS, ANY_OPERATION):
        raise ValueError(
            f"unknown fault operation {fault.operation!r} (one of {', '.join(OPERATIONS)} or '*')"
        )
    if fault.kind not in KINDS:
        raise ValueError(f"unknown fault kind {fault.kind!r} (one of {', '.join(sorted(KINDS))})")
    if fault.times is not None and fault.times < 1:
        raise ValueError("fault times must be at least 1 (or None for 'until cleared')")
    unknown = sorted(set(fault.params) - _PARAMS[fault.kind])
    if unknown:
        raise ValueError(f"fault kind {fault.kind!r} takes no parameter(s) {', '.join(unknown)}")
    if fault.kind == "status" and "status" not in fault.params:
        raise ValueError("fault kind 'status' needs a status code")
    if fault.kind == "lost_response":
        if fault.operation != "switchover":
            raise ValueError("fault kind 'lost_response' only applies to the switchover operation")
        if fault.params.get("mode", "reset") not in ("reset", "timeout"):
            raise ValueError("lost_response mode must be 'reset' or 'timeout'")
    if fault.kind == "alt_error" and fault.params.get("shape", "code_message") not in (
        "code_message",
        "camel",
    ):
        raise ValueError("alt_error shape must be 'code_message' or 'camel'")
    status = fault.params.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"fault status must be an HTTP status code, not {status!r}")
    if "seconds" in fault.params and not float(fault.params["seconds"]) >= 0:
        raise ValueError("fault seconds must be >= 0")


def _encode(body: str | bytes | dict[str, Any] | list[Any] | None) -> tuple[bytes, str]:
    if body is None:
        return b"", "application/json"
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"


def _error_body(status: int, code: str | None = None, message: str | None = None) -> dict[str, str]:
    return {
        "error_code": code or f"SIM.{status}",
        "error_msg": message or f"{HTTPStatus(status).phrase} (injected fault)",
    }


def canned(fault: Fault, operation: str) -> Reply:
    """The ready-made response for a fault whose kind is in CANNED_KINDS."""
    p = fault.params
    body: str | bytes | dict[str, Any] | list[Any] | None
    extra: dict[str, str] = dict(p.get("headers") or {})
    status = int(p.get("status", 200))
    if fault.kind == "status":
        body = p["body"] if "body" in p else _error_body(status)
    elif fault.kind == "html_503":
        status = int(p.get("status", 503))
        body = _NGINX_503
        extra.setdefault("Content-Type", "text/html")
    elif fault.kind == "throttle":
        status = int(p.get("status", 429))
        extra.setdefault("Retry-After", str(p.get("retry_after", 2)))
        body = _error_body(
            status,
            "APIGW.0308",
            "The throttling threshold has been reached: policy user over ratelimit, limit:5, time:1 second",
        )
    elif fault.kind == "empty":
        status = int(p.get("status", 500))
        body = None
    elif fault.kind == "malformed":
        body = p.get("body", _TRUNCATED.get(operation, b'{"'))
        extra.setdefault("Content-Type", "application/json")
    elif fault.kind == "wrong_shape":
        body = p.get("body", _WRONG_SHAPE.get(operation, ["oops"]))
    else:  # alt_error
        status = int(p.get("status", 500))
        code = str(p.get("code", f"SIM.{status}"))
        message = str(p.get("message", HTTPStatus(status).phrase))
        camel = p.get("shape") == "camel"
        body = (
            {"errorCode": code, "errorMsg": message}
            if camel
            else {"code": code, "message": message}
        )
    data, content_type = _encode(body)
    extra.setdefault("Content-Type", content_type)
    return Reply(status, data, tuple(extra.items()))


@dataclass
class ServiceFault:
    """A fault of a service beside DWS (Cloud Eye, SMN): its kind, uses left, status, seconds."""

    kind: str
    times: int | None = 1
    status: int = 503
    seconds: float = 60.0


class PendingFaults:
    """A service's pending faults, used in order; each use consumes one of its `times`."""

    def __init__(self, service: str, kinds: tuple[str, ...]) -> None:
        self.service, self.kinds = service, kinds
        self.faults: list[ServiceFault] = []
        self._lock = threading.Lock()

    def inject(
        self, kind: str, *, times: int | None = 1, status: int = 503, seconds: float = 60.0
    ) -> None:
        if kind not in self.kinds:
            raise ValueError(
                f"unknown {self.service} fault {kind!r} (one of {', '.join(self.kinds)})"
            )
        if not 400 <= status <= 599:
            raise ValueError(f"a {self.service} fault status is an HTTP error status, not {status}")
        with self._lock:
            self.faults.append(ServiceFault(kind, times, status, seconds))

    def take(self) -> ServiceFault | None:
        """The next pending fault, with one use consumed."""
        with self._lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.pop(0)
            return fault
