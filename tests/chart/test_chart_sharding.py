"""The chart with `replicas: 3`: a StatefulSet of three pods, each told its share of
`config.targets` (its pod name and the replica count), each with its own journal volume; the
pods' shares, loaded as each pod would, cover every target exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chartkit import (
    FULLNAME,
    config_text,
    controller_container,
    find,
    minimal_values,
    objects,
    render,
)
from helm_python import HelmError

from controller.settings import load_settings
from controller.targets import owned

TARGETS = [{"name": f"bj-{i}", "project_id": f"p-{i}"} for i in range(7)]


def sharded(replicas: int, targets: list[dict[str, Any]] = TARGETS) -> list[dict[str, Any]]:
    return objects(render(minimal_values(replicas=replicas, config={"targets": targets})))


def pod_settings(objs: list[dict[str, Any]], ordinal: int, tmp_path: Path) -> Any:
    """The settings pod `ordinal` loads: its env (downward API name), the mounted config."""
    environ = {}
    for var in controller_container(objs)["env"]:
        if "value" in var:
            environ[var["name"]] = var["value"]
        elif "fieldRef" in var["valueFrom"]:
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
            environ[var["name"]] = f"{FULLNAME}-{ordinal}"  # a StatefulSet pod's name
        else:
            environ[var["name"]] = "placeholder"
    local = tmp_path / f"config-{ordinal}.yaml"
    local.write_text(config_text(objs), encoding="utf-8")
    settings = load_settings(None, {**environ, "DWS_REBALANCER_CONFIG": str(local)})
    return settings, environ["POD_NAME"]


def test_three_replicas_each_own_a_share_of_the_targets(tmp_path: Path) -> None:
    objs = sharded(3)
    statefulset = find(objs, "StatefulSet")
    assert statefulset["spec"]["replicas"] == 3
    assert [t["metadata"]["name"] for t in statefulset["spec"]["volumeClaimTemplates"]] == [
        "journal"
    ]  # one journal volume per pod
    shares = []
    for ordinal in range(3):
        settings, pod = pod_settings(objs, ordinal, tmp_path)
        assert settings.sharding.replicas == 3
        shares.append([t.name for t in owned(settings, pod)])
    names = sorted(n for share in shares for n in share)
    assert names == sorted(t["name"] for t in TARGETS)  # each target exactly once
    assert all(shares), shares


def test_more_replicas_than_targets_fails_with_one_line() -> None:
    with pytest.raises(HelmError, match=r"replicas: 3 shards config\.targets among the pods"):
        sharded(3, TARGETS[:2])


def test_one_replica_is_the_default() -> None:
    assert find(objects(render(minimal_values())), "StatefulSet")["spec"]["replicas"] == 1
