"""Every rendered object is valid Kubernetes for two versions (strict schemas); CRD kinds are checked structurally."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from chartkit import KUBE_VERSIONS, find, minimal_values, objects, render
from crdschemas import BY_KIND


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_objects_validate_against_kubernetes(
    ci_objects: list[dict[str, Any]], kube_version: str
) -> None:
    # A kind without a bundled schema raises SchemaNotFoundError, so nothing goes unchecked.
    for obj in ci_objects:
        if obj["kind"] in BY_KIND:
            continue
        kubernetes_validate.validate(obj, kube_version, strict=True)


def test_crd_kinds_match_their_structure(ci_objects: list[dict[str, Any]]) -> None:
    for obj in ci_objects:
        if obj["kind"] in BY_KIND:
            jsonschema.Draft7Validator(BY_KIND[obj["kind"]]).validate(obj)


def _monitoring_objects() -> list[dict[str, Any]]:
    values = minimal_values(serviceMonitor={"enabled": True}, prometheusRule={"enabled": True})
    return objects(render(values))


@pytest.mark.parametrize(
    ("kind", "path", "bad"),
    [
        ("StatefulSet", ("spec", "template", "spec", "containers", 0, "imagePullPolicy"), 7),
        ("StatefulSet", ("spec", "replicaCount"), 1),
        ("Service", ("spec", "ports", 0, "port"), "http"),
    ],
    ids=["wrong-type", "unknown-field", "string-port"],
)
def test_the_kubernetes_validation_can_fail(
    kind: str, path: tuple[str | int, ...], bad: object
) -> None:
    obj = copy.deepcopy(find(objects(render(minimal_values())), kind))
    _set(obj, path, bad)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, KUBE_VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    ("kind", "path", "bad"),
    [
        ("ServiceMonitor", ("spec", "endpoints", 0, "interval"), "30 seconds"),
        ("ServiceMonitor", ("spec", "endpoints", 0, "targetPort"), 9108),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "labels", "severity"), 3),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "record"), "both:alert_and_record"),
    ],
    ids=["bad-duration", "unknown-endpoint-field", "numeric-label", "alert-and-record"],
)
def test_the_structural_check_can_fail(kind: str, path: tuple[str | int, ...], bad: object) -> None:
    obj = copy.deepcopy(find(_monitoring_objects(), kind))
    _set(obj, path, bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(BY_KIND[kind]).validate(obj)


def _set(obj: Any, path: tuple[str | int, ...], value: object) -> None:
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value
