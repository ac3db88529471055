"""The fleet's targets: one project in one region each, with settings of its own, and who owns which.

Each target becomes a complete `Settings` (its endpoint, project, region, credentials, policy,
overrides and selection), so everything built for one project (the client, the cycle, the load
sources, the notifications) serves one target unchanged. A configuration without `targets:` is
one implicit target, `default`, exactly as before.

Sharding needs no coordination of ours: a StatefulSet's replica owns the targets whose stable
hash modulo `sharding.replicas` equals its ordinal, the number its pod name ends with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from controller.settings import (
    IMPLICIT_TARGET,
    ConfigError,
    Override,
    Settings,
    TargetSettings,
)

_ORDINAL = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class Target:
    """One target: its name and its settings (as if it were the only project)."""

    name: str
    settings: Settings

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def project_id(self) -> str:
        return self.settings.project_id


def fleet(settings: Settings) -> tuple[Target, ...]:
    """Every configured target, in configuration order (the implicit one without `targets:`)."""
    if not settings.targets:
        return (Target(IMPLICIT_TARGET, settings),)
    return tuple(Target(spec.name, target_settings(settings, spec)) for spec in settings.targets)


def target_settings(base: Settings, spec: TargetSettings) -> Settings:
    """`base` with the target's keys in place of the top-level ones (no validation again: the
    environment is not read twice, and every part was validated where it was written)."""
    region = spec.region or base.region
    explicit_endpoint = "endpoint" in base.model_fields_set
    endpoint = spec.endpoint or (
        base.endpoint if explicit_endpoint else f"https://dws.{region}.myhuaweicloud.com"
    )
    update: dict[str, Any] = {
        "targets": [],
        "region": region,
        "endpoint": endpoint.rstrip("/"),
        "project_id": spec.project_id or base.project_id,
        "enterprise_project_id": spec.enterprise_project_id or base.enterprise_project_id,
        "auth": spec.auth or base.auth,
        "policy": base.merged_policy(Override(match="*", policy=spec.policy)),
        "overrides": [*spec.overrides, *base.overrides],
        "clusters": spec.clusters or base.clusters,
    }
    own = base.model_copy(update=update)
    own._effective = {}  # the copy's policies are its own, not the base's cache
    own._target = spec.name
    return own


def owner(name: str, replicas: int) -> int:
    """The ordinal owning target `name`: stable across processes, releases and Python hashes."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % replicas


def ordinal_from(pod_name: str | None) -> int:
    """A StatefulSet pod's ordinal, the number its name ends with (`dws-rebalancer-2` is 2)."""
    found = _ORDINAL.search(pod_name or "")
    if found is None:
        raise ConfigError(
            f"sharding.replicas > 1 needs sharding.ordinal, or POD_NAME ending in -<ordinal>"
            f" (a StatefulSet pod's name), not {pod_name!r}"
        )
    return int(found[1])


def owned(settings: Settings, pod_name: str | None) -> tuple[Target, ...]:
    """The targets this replica owns (all of them with one replica)."""
    shards = settings.sharding
    targets = fleet(settings)
    if shards.replicas == 1:
        return targets
    ordinal = shards.ordinal if shards.ordinal is not None else ordinal_from(pod_name)
    if ordinal >= shards.replicas:
        raise ConfigError(f"ordinal {ordinal} is not below sharding.replicas {shards.replicas}")
    return tuple(t for t in targets if owner(t.name, shards.replicas) == ordinal)


def ambiguous(wanted: str, targets: Iterable[str]) -> str:
    """Why a plain cluster name is not enough: several targets have a cluster of that name."""
    return f"{wanted!r} names clusters of targets {', '.join(sorted(targets))}: say TARGET/NAME"
