"""Simulated clusters as DWS API JSON: the list item (`ClusterInfo`) and the detail (`ClusterDetail`).

Field names follow the vendor SDK models of the same names, so the SDK parses them as real data.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from controller.simulator.world import SimCluster

PORT = 8000
_NS = uuid.UUID("0b6a6e0e-0d1c-4a57-9c4e-5d3b2f8a6c11")


def timestamp(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _derived_id(cluster: SimCluster, what: str) -> str:
    """Stable ids for the cluster's VPC, subnet, nodes…: the same on every call."""
    return str(uuid.uuid5(_NS, f"{cluster.id}/{what}"))


def _host(cluster: SimCluster) -> str:
    return f"{cluster.name}.dws.example.internal"


def _common(cluster: SimCluster, now: dt.datetime) -> dict[str, Any]:
    tags = (
        None if cluster.tags is None else [{"key": k, "value": v} for k, v in cluster.tags.items()]
    )
    return {
        "id": cluster.id,
        "name": cluster.name,
        "status": cluster.status,
        "sub_status": cluster.sub_status,
        "version": cluster.version,
        "updated": timestamp(cluster.updated),
        "created": timestamp(cluster.created),
        "port": PORT,
        "endpoints": [
            {
                "connect_info": f"{_host(cluster)}:{PORT}",
                "jdbc_url": f"jdbc:postgresql://{_host(cluster)}:{PORT}/<YOUR_DATABASE_NAME>",
            }
        ],
        "public_endpoints": [],
        "nodes": [
            {"id": _derived_id(cluster, f"node/{i}"), "status": "200"}
            for i in range(cluster.number_of_node)
        ],
        "tags": tags,
        "user_name": "dbadmin",
        "number_of_node": cluster.number_of_node,
        "recent_event": 0,
        "availability_zone": "sim-region-1a",
        "enterprise_project_id": cluster.enterprise_project_id,
        "node_type": "dws.m3.xlarge",
        "vpc_id": _derived_id(cluster, "vpc"),
        "subnet_id": _derived_id(cluster, "subnet"),
        "security_group_id": _derived_id(cluster, "security-group"),
        "public_ip": {"public_bind_type": "not_use", "eip_id": ""},
        "action_progress": cluster.action_progress(now),
    }


def list_item(cluster: SimCluster, index: int, now: dt.datetime) -> dict[str, Any]:
    """One entry of `{"clusters": [...]}`.

    An idle `task_status` alternates between absent (even positions) and `""` (odd ones):
    both occur in the wild and a client must read both as idle.
    """
    item = _common(cluster, now)
    if cluster.task_status:
        item["task_status"] = cluster.task_status
    elif index % 2:
        item["task_status"] = ""
    return item


class ListRenderer:
    """The list answer's bytes, re-rendering only the entries whose cluster changed.

    A fleet of 10 000 clusters is 10 MB of JSON: building it from scratch at every poll would make
    the emulator, not the controller, the slowest part of a benchmark.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[object, ...], bytes]] = {}

    def body(self, clusters: list[SimCluster], now: dt.datetime) -> bytes:
        entries = [self._entry(cluster, index, now) for index, cluster in enumerate(clusters)]
        live = {cluster.id for cluster in clusters}
        for gone in self._entries.keys() - live:
            del self._entries[gone]
        return b'{"clusters": [%s], "count": %d}' % (b", ".join(entries), len(entries))

    def _entry(self, cluster: SimCluster, index: int, now: dt.datetime) -> bytes:
        key = _state(cluster, index, now)
        cached = self._entries.get(cluster.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        encoded = json.dumps(list_item(cluster, index, now)).encode()
        self._entries[cluster.id] = (key, encoded)
        return encoded


def _state(cluster: SimCluster, index: int, now: dt.datetime) -> tuple[object, ...]:
    """Everything `list_item` reads: equal states render equal entries.

    Fields change only by assignment, which bumps the revision; a running task's progress moves
    with the clock; the position's parity decides how an idle task_status is spelled.
    """
    progress = None if cluster.job is None else tuple(cluster.action_progress(now).items())
    return (cluster.revision, index % 2, progress)


def detail(cluster: SimCluster, now: dt.datetime) -> dict[str, Any]:
    """The body of `{"cluster": {...}}`, with `maintain_window` (absent from the list)."""
    item = _common(cluster, now)
    item.update(
        task_status=cluster.task_status or "",
        maintain_window=dict(cluster.maintain_window),
        parameter_group={
            "id": _derived_id(cluster, "parameter-group"),
            "name": "Default-Parameter-Group-dws",
            "status": "In-Sync",
        },
        node_type_id=_derived_id(cluster, "node-type"),
        order_id="",
        private_ip=[f"192.168.0.{10 + i}" for i in range(cluster.number_of_node)],
        resize_info=None,
        failed_reasons=None,
        elb=None,
    )
    return item
