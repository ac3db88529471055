"""`POST /approve/{cluster}` and `POST /veto/{cluster}` on the controller's port, behind a bearer token.

Off unless `approval_api.enabled` (the routes answer 404 then). When on, every request needs
`Authorization: Bearer <token>`, the token from `approval_api.token` or `token_file`, compared in
constant time: missing or wrong is 401. The JSON body may carry `reason`, `until` (ISO-8601 with
an offset, or a duration ahead such as `2h`) and `actor` (default `api`). The answer is JSON:
200 with what was recorded, 400 for a bad body, 404 for an unknown cluster, 409 when the
cluster's approval mode or state refuses it. The token is registered as a secret, so it is
masked in every log line, and it is never echoed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from pathlib import Path
from typing import Any

from controller.clock import Clock
from controller.config_types import parse_duration
from controller.journal import Journal
from controller.logs import get_logger, register_secrets
from controller.loop import operator
from controller.settings import ApprovalApi, ConfigError, Settings

log = get_logger(__name__)

#: A body larger than this is refused unread: the fields are a reason and a time.
MAX_BODY_BYTES = 16 * 1024
_SAYS: dict[str, operator.Say] = {"approve": operator.approve, "veto": operator.veto}

Answer = tuple[int, dict[str, Any]]


class ApprovalEndpoints:
    """Answers the two routes; `answer` is called with the request already read."""

    def __init__(self, journal: Journal, settings: Settings, clock: Clock, token: str) -> None:
        self.journal = journal
        self.settings = settings
        self.clock = clock
        self._token = token.encode()

    @staticmethod
    def route(path: str) -> tuple[str, str] | None:
        """(verb, cluster) for `/approve/X` or `/veto/X`; None for any other path."""
        match = re.fullmatch(r"/(approve|veto)/([^/]+)", path)
        return (match.group(1), match.group(2)) if match else None

    def answer(self, verb: str, cluster: str, authorization: str, body: bytes) -> Answer:
        if not self._authorized(authorization):
            return 401, {"error": "missing or wrong bearer token"}
        try:
            fields = _fields(body)
            now = self.clock.now()
            until = _until(fields.get("until"), now)
            said = _SAYS[verb](
                self.journal,
                self.settings,
                cluster,
                now=now,
                by=fields.get("actor") or "api",
                until=until,
                reason=fields.get("reason"),
            )
        except _BadRequest as exc:
            return 400, {"error": str(exc)}
        except operator.Refused as exc:
            return (404 if exc.unknown_cluster else 409), {"error": str(exc)}
        entry = said.entry
        log.info(
            f"{verb}_recorded",
            cluster=said.cluster_name,
            by=entry.by,
            until=entry.until.isoformat(),
        )
        return 200, {
            "kind": entry.kind.value,
            "cluster_id": entry.cluster_id,
            "cluster_name": said.cluster_name,
            "by": entry.by,
            "until": entry.until.isoformat(),
            "slot": entry.slot.isoformat() if entry.slot else None,
            "message": said.sentence,
        }

    def _authorized(self, authorization: str) -> bool:
        scheme, _, provided = authorization.partition(" ")
        # compare_digest takes as long whatever the token's prefix: no timing hint about it.
        return scheme.lower() == "bearer" and hmac.compare_digest(
            provided.strip().encode(), self._token
        )


def approval_endpoints(
    settings: Settings, journal: Journal, clock: Clock
) -> ApprovalEndpoints | None:
    """The endpoints when `approval_api.enabled`, with the token read (file first); else None."""
    api = settings.approval_api
    if not api.enabled:
        return None
    token = read_token(api)
    register_secrets(token)
    return ApprovalEndpoints(journal, settings, clock, token)


def read_token(api: ApprovalApi) -> str:
    """The bearer token; a missing, unreadable or empty one is a configuration error."""
    if api.token_file is not None:
        try:
            token = Path(api.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"approval_api.token_file {api.token_file}: {exc.strerror or exc}"
            ) from None
    else:
        token = api.token.get_secret_value().strip() if api.token is not None else ""
    if not token:
        raise ConfigError("approval_api.enabled needs a non-empty token or token_file")
    return token


class _BadRequest(Exception):
    pass


def _fields(body: bytes) -> dict[str, str]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise _BadRequest("the body is not JSON") from None
    if not isinstance(value, dict):
        raise _BadRequest("the body is not a JSON object")
    unknown = sorted(set(value) - {"reason", "until", "actor"})
    if unknown:
        raise _BadRequest(f"unknown field(s): {', '.join(unknown)}")
    if any(not isinstance(v, str) for v in value.values() if v is not None):
        raise _BadRequest("reason, until and actor are strings")
    return {k: v for k, v in value.items() if v is not None}


def _until(text: str | None, now: dt.datetime) -> dt.datetime | None:
    if text is None:
        return None
    try:
        if re.match(r"\d{4}-", text):
            until = dt.datetime.fromisoformat(text)
        else:
            until = now + parse_duration(text)
    except (ValueError, OverflowError):
        raise _BadRequest(f"until: not an ISO-8601 time or a duration: {text!r}") from None
    if until.tzinfo is None:
        raise _BadRequest(f"until {text!r} needs a UTC offset")
    if until <= now:
        raise _BadRequest(f"until {text!r} is not in the future")
    return until
