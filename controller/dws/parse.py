"""Raw DWS JSON → `Cluster` values: tolerant where the API varies, strict where a mistake could be unsafe.

Pure functions, no I/O. Anything that cannot be read safely raises `MalformedResponseError`
naming the problem; a cluster that cannot be parsed is never returned, so never acted on.
`ListDecoder` reads list answers from their bytes and reuses the cluster of every entry whose
bytes equal the previous answer's, so an idle poll of a large fleet parses almost nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from controller.config_types import sql_endpoint
from controller.dws.errors import MalformedResponseError, unreadable
from controller.model import WEEKDAYS, Cluster, MaintainWindow, Version

_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: "Wed", "wed", "WEDNESDAY" → "Wed".
_DAYS = {
    name: day
    for day, full in zip(WEEKDAYS, _FULL_DAYS, strict=True)
    for name in (day.lower(), full)
}

#: Called with each list entry that was skipped because it could not be parsed.
SkipHook = Callable[[MalformedResponseError], None]


#: One list entry as read: the id it claims (even if unreadable) and its cluster, or why not.
_Entry = tuple[str | None, Cluster | MalformedResponseError]


class NotAClusterList(Exception):
    """The answer is not `{"clusters": [...]}` at all: read it the slow way for a precise error."""


class _ListShape(msgspec.Struct):
    clusters: list[msgspec.Raw]


class _Fields(msgspec.Struct):
    """The fields of a list entry the controller reads; every other field is skipped unread."""

    id: Any = None
    name: Any = None
    status: Any = None
    sub_status: Any = None
    task_status: Any = None
    version: Any = None
    tags: Any = None
    maintain_window: Any = None
    updated: Any = None
    endpoints: Any = None
    public_endpoints: Any = None
    nodes: Any = None


class ListDecoder:
    """Reads list answers; an entry byte-for-byte equal to one of the last answer keeps its cluster.

    The very same `Cluster` object comes back, so the loop can tell an unchanged entry by identity.
    Entries are known by the SHA-256 of their bytes: 32 bytes each instead of the entry's 1 KiB or
    more, hashed faster than the bytes can be copied, and no collision is within reach.
    """

    def __init__(self) -> None:
        self._last: dict[bytes, _Entry] = {}  # digest of an entry of the last answer -> it
        self._answer: tuple[bytes, list[Cluster]] = (b"", [])  # the last answer's digest, clusters

    def decode(self, content: bytes, *, on_skip: SkipHook | None = None) -> list[Cluster]:
        """The clusters of one answer; callers share the list and must not change it."""
        digest = hashlib.sha256(content).digest()
        if digest == self._answer[0]:  # the whole answer as last time: the very same list
            return self._answer[1]
        clusters, clean = self._decode(content, on_skip)
        # An answer with unreadable entries is read again each time, so each time it is reported.
        self._answer = (digest if clean else b"", clusters)
        return clusters

    def _decode(self, content: bytes, on_skip: SkipHook | None) -> tuple[list[Cluster], bool]:
        try:
            raws = msgspec.json.decode(content, type=_ListShape).clusters
        except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError is a DecodeError
            raise NotAClusterList from exc
        previous, self._last = self._last, {}
        entries = []
        for raw in raws:
            key = hashlib.sha256(raw).digest()
            entry = self._last.get(key) or previous.get(key) or _read_entry(raw)
            self._last[key] = entry
            entries.append(entry)
        clusters = [read for _, read in entries if isinstance(read, Cluster)]
        if len(clusters) == len(entries) and len({c.id for c in clusters}) == len(clusters):
            return clusters, True  # the usual answer: every entry readable, every id once
        return _assemble(entries, on_skip), False


def _read_entry(raw: msgspec.Raw) -> _Entry:
    try:
        fields = msgspec.json.decode(raw, type=_Fields)
    except (msgspec.DecodeError, RecursionError):  # not an object: the generic reader says why
        return _read_object(_untyped(raw))
    return _read_object(msgspec.structs.asdict(fields))


def _untyped(raw: msgspec.Raw) -> object:
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        return exc


def _read_object(obj: object) -> _Entry:
    if isinstance(obj, Exception):
        return None, MalformedResponseError(str(unreadable(obj)))
    try:
        return _listed_id(obj), parse_cluster(obj)
    except MemoryError:
        raise
    except Exception as exc:  # any failure on one entry, foreseen or not, skips just it
        why = exc if isinstance(exc, MalformedResponseError) else unreadable(exc)
        return _listed_id(obj), MalformedResponseError(str(why))


def parse_cluster_list(body: object, *, on_skip: SkipHook | None = None) -> list[Cluster]:
    """`{"clusters": [...], "count": N}` → clusters; entries that cannot be parsed are skipped.

    One odd entry must not blind the controller to every other cluster, so it is reported
    through `on_skip` and left out. If *every* entry is unreadable the API has probably changed
    shape, and that is an error rather than an empty project.

    An id listed more than once comes back once, its `listing_copies` saying how often it was
    listed (unreadable entries with a readable id count too): which entry tells the truth is
    unknowable, so the guards block the cluster rather than pick one.
    """
    entries = _field(body, "clusters", "list response")
    if not isinstance(entries, list):
        raise MalformedResponseError(
            f"list response: 'clusters' is {_kind(entries)}, expected a list"
        )
    return _assemble([_read_object(entry) for entry in entries], on_skip)


def _assemble(entries: list[_Entry], on_skip: SkipHook | None) -> list[Cluster]:
    clusters: list[Cluster] = []
    problems: list[MalformedResponseError] = []
    for index, (_, read) in enumerate(entries):
        if isinstance(read, Cluster):
            clusters.append(read)
            continue
        problem = MalformedResponseError(f"clusters[{index}]: {read}")
        problems.append(problem)
        if on_skip is not None:
            on_skip(problem)
    if problems and not clusters:
        raise MalformedResponseError(
            f"list response: none of the {len(problems)} clusters could be read; "
            f"first problem: {problems[0]}"
        )
    return _one_per_id(clusters, Counter(listed for listed, _ in entries))


def _one_per_id(clusters: Iterable[Cluster], listed: Counter[str | None]) -> list[Cluster]:
    """The first entry of each id, marked with how many entries of the answer carry that id."""
    seen: dict[str, Cluster] = {}
    for cluster in clusters:
        if cluster.id in seen:
            continue
        copies = listed[cluster.id]
        # The common case keeps the very object, so an unchanged entry stays recognisable.
        seen[cluster.id] = (
            cluster
            if copies == cluster.listing_copies
            else dataclasses.replace(cluster, listing_copies=copies)
        )
    return list(seen.values())


def _listed_id(entry: object) -> str | None:
    """The id an entry claims, as `parse_cluster` would read it, even if the rest is unreadable."""
    value = entry.get("id") if isinstance(entry, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_cluster_detail(body: object) -> Cluster:
    """`{"cluster": {...}}` → the cluster, including its maintenance window."""
    return parse_cluster(_field(body, "cluster", "detail response"))


def parse_cluster(obj: object) -> Cluster:
    """One cluster object (from a list or a detail response)."""
    if not isinstance(obj, dict):
        raise MalformedResponseError(f"a cluster must be a JSON object, got {_kind(obj)}")
    cluster_id = _required_text(obj, "id", "cluster")
    where = f"cluster {cluster_id}"
    raw_version = obj.get("version")
    return Cluster(
        id=cluster_id,
        name=_required_text(obj, "name", where),
        status=sys.intern(_required_text(obj, "status", where)),  # a handful of values fleet-wide
        sub_status=parse_sub_status(obj.get("sub_status"), where),
        task_status=parse_task_status(obj.get("task_status")),
        version=_version(raw_version),
        raw_version="" if raw_version is None else sys.intern(str(raw_version)),
        tags=parse_tags(obj.get("tags"), where),
        maintain_window=parse_maintain_window(obj.get("maintain_window"), where),
        updated=None if obj.get("updated") is None else str(obj["updated"]),
        sql_endpoint=sql_endpoint(obj),  # only the data-plane probe reads it: never fatal
        node_ids=_node_ids(obj.get("nodes")),
    )


def _node_ids(value: object) -> tuple[str, ...]:
    """`nodes[].id`; anything unreadable is no node (node metrics then fail closed, not the entry)."""
    if not isinstance(value, list):
        return ()
    ids = (node.get("id") for node in value if isinstance(node, dict))
    return tuple(i for i in ids if isinstance(i, str) and i)


def parse_sub_status(value: object, where: str = "cluster") -> frozenset[str]:
    """`"DEGRADED | unbalanced"` → {"DEGRADED", "UNBALANCED"}; unknown flags are kept."""
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise MalformedResponseError(f"{where}: 'sub_status' is {_kind(value)}, expected text")
    flags = _SUB_STATUSES.get(value)
    if flags is None:
        flags = frozenset(flag.strip().upper() for flag in value.split("|") if flag.strip())
        if len(_SUB_STATUSES) < _SHARED_LIMIT:  # a fleet has a handful of distinct values
            _SUB_STATUSES[value] = flags
    return flags


#: Values most clusters share, kept once rather than once per cluster (bounded: an odd answer
#: cannot grow them without end).
_SHARED_LIMIT = 256
_SUB_STATUSES: dict[str, frozenset[str]] = {}
_VERSIONS: dict[str, Version | None] = {}
_NO_TAGS: Mapping[str, str] = MappingProxyType({})


def parse_task_status(value: object) -> str | None:
    """Empty or absent → None (idle); anything else, known or not, is kept (busy)."""
    if value is None:
        return None
    text = str(value).strip().upper()
    return text or None


def parse_tags(value: object, where: str = "cluster") -> Mapping[str, str]:
    """`[{"key", "value"}]` (or a plain mapping, or null) → dict.

    Strict on purpose: the opt-out tag lives here, and silently dropping it could make the
    controller act on a cluster whose owner said no.
    """
    if value is None or value == []:
        return _NO_TAGS
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [_tag_pair(item, where) for item in value]
    else:
        raise MalformedResponseError(f"{where}: 'tags' is {_kind(value)}, expected a list")
    if not all(isinstance(k, str) for k, _ in pairs):
        raise MalformedResponseError(f"{where}: a tag key is not text")
    return {k: "" if v is None else str(v) for k, v in pairs}


def _tag_pair(item: object, where: str) -> tuple[object, object]:
    if not isinstance(item, dict) or "key" not in item:
        raise MalformedResponseError(f"{where}: a tag is not a {{key, value}} object")
    return item["key"], item.get("value")


def parse_maintain_window(value: object, where: str = "cluster") -> MaintainWindow | None:
    """`{"day": "Wed", "start_time": "22:00", "end_time": "02:00"}` → window (times are UTC).

    Absent or all-empty means no window. A half-filled or unreadable one is an error rather
    than None, because None would let the window guard ignore a window the cluster has.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedResponseError(f"{where}: 'maintain_window' is {_kind(value)}")
    parts = [value.get(key) for key in ("day", "start_time", "end_time")]
    if not any(parts):
        return None
    day, start, end = parts
    weekday = _DAYS.get(str(day).strip().lower())
    if weekday is None:
        raise MalformedResponseError(f"{where}: maintain_window day {day!r} is not Mon..Sun")
    return MaintainWindow(day=weekday, start=_time(start, where), end=_time(end, where))


def _time(value: object, where: str) -> dt.time:
    match = _TIME_RE.fullmatch(str(value).strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    raise MalformedResponseError(f"{where}: maintain_window time {value!r} is not HH:MM")


def _version(value: object) -> Version | None:
    """None when absent or unreadable: the version guard then blocks, nothing else fails."""
    if not isinstance(value, str):
        return None
    if value in _VERSIONS:
        return _VERSIONS[value]
    try:
        version: Version | None = Version.parse(value)
    except ValueError:
        version = None
    if len(_VERSIONS) < _SHARED_LIMIT:
        _VERSIONS[value] = version
    return version


def _field(body: object, key: str, what: str) -> object:
    if not isinstance(body, dict):
        raise MalformedResponseError(f"{what}: expected a JSON object, got {_kind(body)}")
    if key not in body:
        raise MalformedResponseError(f"{what}: no {key!r} field")
    return body[key]


def _required_text(obj: Mapping[str, object], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        shown = "missing" if value is None else f"{_kind(value)} {value!r}"[:80]
        raise MalformedResponseError(f"{where}: '{key}' is {shown}, expected non-empty text")
    return value.strip()


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
