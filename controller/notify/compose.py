"""A notice in words: a one-line subject and a short body, from the templates of one language.

SMN caps a subject at 512 bytes and chat apps cut long titles, so the subject is one line and
clipped; the body stays a handful of lines: cluster, target, what and why, interruption,
what clients felt, next eligible time, the dashboard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from controller.model import ClientImpact
from controller.notify import templates
from controller.notify.notices import Notice

#: Bytes, the tighter of SMN's subject limit and what chat titles show in full.
MAX_SUBJECT_BYTES = 200
MAX_DETAIL_CHARS = 300
_SWITCHOVER_ENDS = {"succeeded", "failed", "timed_out"}


@dataclass(frozen=True)
class Target:
    """What every message names besides the cluster: the project, region and dashboard link."""

    project: str
    region: str
    dashboard_url: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def compose(notice: Notice, target: Target) -> Message:
    """The message for `notice` in `target.language`."""
    fields = _fields(notice, target)
    subject, first = templates.EVENTS[target.language][notice.event]
    lines = [first.format(**fields).strip(), *_lines(notice, target, fields)]
    return Message(_one_line(subject.format(**fields)), "\n".join(lines))


def _fields(notice: Notice, target: Target) -> dict[str, str]:
    detail = " ".join(notice.detail.split())
    return {
        "cluster": notice.cluster_name or "-",
        "cluster_id": notice.cluster_id or "-",
        "project": target.project,
        "region": target.region,
        "detail": detail[:MAX_DETAIL_CHARS],
        "seconds": "" if notice.seconds is None else f"{notice.seconds:.1f}",
        "client": _client(notice.client, target.language),
        "at": _time(notice.at),
        "since": _time(notice.at),
        "next": _time(notice.next_eligible),
        "url": target.dashboard_url or "",
        "consecutive": "" if notice.consecutive is None else str(notice.consecutive),
    }


def _lines(notice: Notice, target: Target, fields: dict[str, str]) -> list[str]:
    """The body's lines after the first, each only when it has something to say."""
    line = templates.LINES[target.language]
    wanted = []
    if notice.cluster_id is not None:
        wanted.append("cluster")
    wanted.append("target")
    if notice.event in _SWITCHOVER_ENDS:
        if notice.seconds is not None:
            wanted.append("interruption")
        if notice.client is not None:
            wanted.append("client")
        elif notice.probed:
            wanted.append("client_none")
    if notice.next_eligible is not None:
        wanted.append("next")
    if target.dashboard_url:
        wanted.append("dashboard")
    return [line[name].format(**fields) for name in wanted]


def _client(impact: ClientImpact | None, language: str) -> str:
    if impact is None:
        return ""
    text = templates.CLIENT[language]
    if impact.interruption_seconds is None:
        return text["empty"]
    if impact.interruption_seconds == 0:
        return text["none"].format(samples=impact.samples)
    return text["outage"].format(
        seconds=f"{impact.interruption_seconds:.1f}", samples=impact.samples
    )


def _time(when: dt.datetime | None) -> str:
    return "" if when is None else when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _one_line(subject: str) -> str:
    flat = " ".join(subject.split())
    encoded = flat.encode()
    if len(encoded) <= MAX_SUBJECT_BYTES:
        return flat
    return encoded[: MAX_SUBJECT_BYTES - 3].decode(errors="ignore") + "..."
