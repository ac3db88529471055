"""Rendering the Helm chart offline with real Helm (helm-python-sdk) and picking objects out of it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from helm_python import Chart, _native, disable_logging

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "charts" / "dws-rebalancer"
CI_VALUES = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
RELEASE = "rb"
NAMESPACE = "dws"
FULLNAME = f"{RELEASE}-dws-rebalancer"
MONITORING_API = "monitoring.coreos.com/v1"
KUBE_VERSIONS = ("1.29.0", "1.33.0")

disable_logging()  # lint mode logs every `required`/`fail` to stderr; the tests assert results


@cache
def chart() -> Chart:
    return Chart.load(CHART_DIR)


def ci_values(path: Path) -> dict[str, Any]:
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(values, dict), f"{path.name} must hold a mapping"
    return values


def minimal_values(**overrides: Any) -> dict[str, Any]:
    """The smallest installable values (ci/default-values.yaml), deep-merged with overrides."""
    return deep_merge(ci_values(CHART_DIR / "ci" / "default-values.yaml"), overrides)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def render(
    values: dict[str, Any],
    *,
    api_versions: tuple[str, ...] = (MONITORING_API,),
    kube_version: str = "v1.29.0",
) -> dict[str, str]:
    """Template path → rendered text, as `helm template --api-versions ... --kube-version ...`.

    helm-python's Chart.render does not expose the capabilities, so this calls the same native
    entry point with the options its Go side accepts (`api_versions`, `kube_version`).
    """
    options = {
        "name": RELEASE,
        "namespace": NAMESPACE,
        "is_install": True,
        "api_versions": list(api_versions),
        "kube_version": kube_version,
    }
    rendered = _native.call_string(
        "helm_render", chart()._raw(), json.dumps(values), json.dumps(options)
    )
    result: dict[str, str] = json.loads(rendered)
    return result


def objects(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object of a render (NOTES.txt is text, not an object)."""
    found: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        found.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return found


def notes(rendered: dict[str, str]) -> str:
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def find(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objs if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def kinds(objs: list[dict[str, Any]]) -> set[str]:
    return {o["kind"] for o in objs}


def pod_spec(objs: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objs, "StatefulSet")["spec"]["template"]["spec"]
    return spec


def controller_container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(objs)["containers"][0]
    return container


def env_map(objs: list[dict[str, Any]]) -> dict[str, Any]:
    """Environment variable name → its `value`, or its `valueFrom` when read from elsewhere."""
    return {
        e["name"]: e.get("value", e.get("valueFrom")) for e in controller_container(objs)["env"]
    }


def config_text(objs: list[dict[str, Any]]) -> str:
    text: str = find(objs, "ConfigMap", FULLNAME)["data"]["config.yaml"]
    return text
