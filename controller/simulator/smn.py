"""The emulated SMN (Simple Message Notification): topic publish, with faults, and what was published.

Serves `POST /v2/{project_id}/notifications/topics/{topic_urn}/publish` with `{"subject",
"message"}` (signed like DWS: the app checks it as it checks DWS calls), answering
`{"message_id", "request_id"}` as SMN does. A subject over 512 bytes, a missing or empty
message, or a message over 256 KB is a 400; a topic the scenario does not list (when it lists
any) is a 404. Every accepted message is kept: `GET /_emulator/smn/messages` (emulator-only, no
signature) lists them, so tests and the demo can see what the controller told people.

Faults (`Smn.inject`, or the scenario's `smn.faults`): `status` (an error status, 503 by
default), `timeout` (no answer; the app hangs for `seconds`, then drops the connection).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from controller.config_types import parse_duration
from controller.simulator.faults import PendingFaults, Reply, ServiceFault

if TYPE_CHECKING:
    from controller.simulator.auth import Request

PUBLISH = "smn_publish"
INSPECT_PATH = "/_emulator/smn/messages"
FAULT_KINDS = ("status", "timeout")
MAX_SUBJECT_BYTES = 512
MAX_MESSAGE_BYTES = 256 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceFaultSpec(_Model):
    """An SMN fault: pending from the start, or from `at` (an offset) on."""

    at: Annotated[dt.timedelta, BeforeValidator(parse_duration)] | None = None
    kind: Literal["status", "timeout"]
    times: int | None = Field(1, ge=1)
    status: int = Field(503, ge=400, le=599)
    seconds: float = Field(60.0, ge=0)

    def apply(self, smn: Smn) -> None:
        smn.inject(self.kind, times=self.times, status=self.status, seconds=self.seconds)


class SmnSpec(_Model):
    """The scenario's `smn:` section: the topics that exist (empty: any URN), and faults."""

    topics: list[str] = Field(default_factory=list)
    faults: list[ServiceFaultSpec] = Field(default_factory=list)

    def install(self, smn: Smn) -> None:
        smn.topics = set(self.topics)
        for fault in self.faults:
            if fault.at is None:
                fault.apply(smn)


@dataclass(frozen=True)
class Published:
    topic_urn: str
    subject: str
    message: str
    message_id: str
    at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "topic_urn": self.topic_urn,
            "subject": self.subject,
            "message": self.message,
            "message_id": self.message_id,
            "at": self.at.isoformat(),
        }


@dataclass
class Smn:
    """The emulated SMN of one project: known topics, pending faults, published messages."""

    topics: set[str] = field(default_factory=set)
    pending: PendingFaults = field(default_factory=lambda: PendingFaults("SMN", FAULT_KINDS))
    published: list[Published] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inject(
        self, kind: str, *, times: int | None = 1, status: int = 503, seconds: float = 60.0
    ) -> None:
        self.pending.inject(kind, times=times, status=status, seconds=seconds)

    def take(self) -> ServiceFault | None:
        """The next pending fault, with one use consumed."""
        return self.pending.take()

    def messages(self) -> list[Published]:
        with self._lock:
            return list(self.published)


def answer(smn: Smn, topic_urn: str, request: Request, now: dt.datetime, request_id: str) -> Reply:
    """The reply to a publish (a `status` fault is the caller's to apply first)."""
    if smn.topics and topic_urn not in smn.topics:
        return error(404, "SMN.00010008", f"Topic {topic_urn} does not exist", request_id)
    try:
        body = json.loads(request.body)
        subject = body.get("subject") or ""
        message = body["message"]
        if not isinstance(subject, str) or not isinstance(message, str):
            raise TypeError("subject and message are strings")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return error(
            400, "SMN.00010001", f"Invalid request body ({type(exc).__name__})", request_id
        )
    if len(subject.encode()) > MAX_SUBJECT_BYTES:
        return error(400, "SMN.00010002", "The subject exceeds 512 bytes", request_id)
    if not message or len(message.encode()) > MAX_MESSAGE_BYTES:
        return error(400, "SMN.00010003", "The message is empty or exceeds 256 KB", request_id)
    message_id = uuid.uuid4().hex
    with smn._lock:
        smn.published.append(Published(topic_urn, subject, message, message_id, now))
    return _json({"message_id": message_id, "request_id": request_id})


def inspect(smn: Smn) -> Reply:
    """`GET /_emulator/smn/messages`: every accepted message, oldest first."""
    return _json({"messages": [p.as_json() for p in smn.messages()]})


def error(status: int, code: str, message: str, request_id: str) -> Reply:
    return _json({"error_code": code, "error_msg": message, "request_id": request_id}, status)


def _json(payload: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode(), (("Content-Type", "application/json"),))
