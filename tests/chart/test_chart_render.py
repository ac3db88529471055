"""The chart renders and lints for every ci/ set; its knobs (auth, image, persistence, monitoring, policy) do what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import (
    CHART_DIR,
    FULLNAME,
    chart,
    ci_values,
    config_text,
    env_map,
    find,
    kinds,
    minimal_values,
    notes,
    objects,
    pod_spec,
    render,
)
from helm_python import HelmError, lint

import controller


def test_every_ci_values_set_renders_the_controller(ci_objects: list[dict[str, Any]]) -> None:
    assert {"StatefulSet", "Service", "ConfigMap", "ServiceAccount"} <= kinds(ci_objects)


@pytest.mark.parametrize(
    "values_file",
    [None, *sorted((CHART_DIR / "ci").glob("*-values.yaml"))],
    ids=lambda p: p.stem if p else "chart-defaults",
)
def test_lint_strict_is_clean(values_file: Path | None) -> None:
    values = ci_values(values_file) if values_file else None
    report = lint(CHART_DIR, values, strict=True, namespace="dws", kube_version="v1.29.0")
    assert report["errors"] == []
    assert report["messages"] == []


def test_chart_metadata_tracks_the_package() -> None:
    meta = chart().metadata
    assert meta["apiVersion"] == "v2"
    assert meta["appVersion"] == controller.__version__
    assert meta["kubeVersion"]
    images = yaml.safe_load(meta["annotations"]["artifacthub.io/images"])
    assert [i["image"].rsplit(":", 1)[1] for i in images] == [controller.__version__]
    assert {"artifacthub.io/license", "artifacthub.io/changes"} <= set(meta["annotations"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"auth": {"ak": "AK", "sk": "SK"}}, "config.project_id is required"),
        ({"config": {"project_id": "p"}}, "no credentials"),
        ({"config": {"project_id": "p"}, "auth": {"ak": "AK"}}, "no credentials"),
        (
            {"config": {"project_id": "p"}, "auth": {"username": "u", "password": "pw"}},
            "no credentials",
        ),
        (
            {"config": {"project_id": "p"}, "auth": {"ak": "AK", "sk": "SK", "token": "T"}},
            "more than one authentication method configured: auth.ak/auth.sk, auth.token",
        ),
        (
            {
                "config": {"project_id": "p"},
                "auth": {"existingSecret": "s", "secretKeys": {"ak": "", "sk": ""}},
            },
            "auth.secretKeys maps no credential",
        ),
    ],
    ids=[
        "no-project",
        "no-credentials",
        "ak-without-sk",
        "password-without-domain",
        "two-methods",
        "secret-maps-nothing",
    ],
)
def test_incomplete_values_fail_with_a_message_naming_the_value(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError, match=message):
        render(values)


# The credentials' own tests (files from the mounted Secret, OIDC, keyless methods) live in
# test_chart_credentials.py.


def test_iam_endpoint_is_passed_as_plain_environment() -> None:
    env = env_map(
        objects(render(minimal_values(auth={"iamEndpoint": "https://iam.example.internal"})))
    )
    assert env["DWS_REBALANCER_AUTH__IAM_ENDPOINT"] == "https://iam.example.internal"


@pytest.mark.parametrize(
    ("image", "global_values", "expected"),
    [
        ({}, {}, f"ghcr.io/dws-rebalancer/dws-rebalancer:{controller.__version__}"),
        ({"tag": "1.2.3"}, {}, "ghcr.io/dws-rebalancer/dws-rebalancer:1.2.3"),
        (
            {"digest": "sha256:" + "a" * 64, "tag": "1.2.3"},
            {},
            "ghcr.io/dws-rebalancer/dws-rebalancer@sha256:" + "a" * 64,
        ),
        (
            {"registry": "swr.cn-north-4.myhuaweicloud.com", "repository": "ops/dws"},
            {},
            f"swr.cn-north-4.myhuaweicloud.com/ops/dws:{controller.__version__}",
        ),
        (
            {},
            {"imageRegistry": "mirror.local"},
            f"mirror.local/dws-rebalancer/dws-rebalancer:{controller.__version__}",
        ),
        ({"registry": ""}, {}, f"dws-rebalancer/dws-rebalancer:{controller.__version__}"),
    ],
    ids=["default", "tag", "digest-wins", "registry", "global-registry", "no-registry"],
)
def test_image_reference(
    image: dict[str, str], global_values: dict[str, str], expected: str
) -> None:
    objs = objects(render(minimal_values(image=image, **{"global": global_values})))
    assert {
        c["image"]
        for o in objs
        if o["kind"] in ("StatefulSet", "Pod")
        for c in (o["spec"]["template"]["spec"] if o["kind"] == "StatefulSet" else o["spec"])[
            "containers"
        ]
    } == {expected}


def test_pull_secrets_merge_global_and_chart_lists() -> None:
    objs = objects(
        render(
            minimal_values(
                imagePullSecrets=[{"name": "a"}],
                **{"global": {"imagePullSecrets": [{"name": "g"}]}},
            )
        )
    )
    assert pod_spec(objs)["imagePullSecrets"] == [{"name": "g"}, {"name": "a"}]


def _checksums(values: dict[str, Any]) -> dict[str, str]:
    annotations: dict[str, str] = find(objects(render(values)), "StatefulSet")["spec"]["template"][
        "metadata"
    ]["annotations"]
    return {k: v for k, v in annotations.items() if k.startswith("checksum/")}


@pytest.mark.parametrize(
    ("change", "rolled"),
    [
        ({"config": {"dry_run": True}}, {"checksum/config"}),
        ({"config": {"policy": {"cooldown": "12h"}}}, {"checksum/config"}),
        ({"auth": {"sk": "rotated"}}, set()),  # mounted files: re-read, no restart
        ({"podLabels": {"team": "dba"}}, set()),
    ],
    ids=["dry-run", "policy", "credential", "unrelated"],
)
def test_a_config_or_credential_change_rolls_the_pod(
    change: dict[str, Any], rolled: set[str]
) -> None:
    before, after = _checksums(minimal_values()), _checksums(minimal_values(**change))
    assert {k for k in before if before[k] != after[k]} == rolled


def test_persistence_puts_the_journal_on_a_claim() -> None:
    values = minimal_values(
        persistence={
            "storageClass": "csi-disk",
            "size": "10Gi",
            "accessModes": ["ReadWriteOncePod"],
        }
    )
    objs = objects(render(values))
    sts = find(objs, "StatefulSet")
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "journal"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOncePod"],
        "storageClassName": "csi-disk",
        "resources": {"requests": {"storage": "10Gi"}},
    }
    assert "journal" not in {v["name"] for v in pod_spec(objs)["volumes"]}


@pytest.mark.parametrize(
    ("storage_class", "expected"),
    [("", None), ("-", "")],
    ids=["cluster-default", "no-provisioning"],
)
def test_storage_class_conventions(storage_class: str, expected: str | None) -> None:
    sts = find(
        objects(render(minimal_values(persistence={"storageClass": storage_class}))), "StatefulSet"
    )
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"].get("storageClassName") == expected


def test_without_persistence_the_journal_is_an_empty_dir_and_notes_warn() -> None:
    rendered = render(minimal_values(persistence={"enabled": False}))
    objs = objects(rendered)
    assert "volumeClaimTemplates" not in find(objs, "StatefulSet")["spec"]
    assert {"name": "journal", "emptyDir": {}} in pod_spec(objs)["volumes"]
    assert "WARNING: persistence is disabled" in notes(rendered)
    assert "do NOT survive restarts" in notes(rendered)
    assert "persistence is disabled" not in notes(render(minimal_values()))


def test_exactly_one_replica_whatever_the_values(ci_objects: list[dict[str, Any]]) -> None:
    sts = find(ci_objects, "StatefulSet")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == FULLNAME


@pytest.mark.parametrize(
    ("enabled", "api_versions", "expected"),
    [
        (True, ("monitoring.coreos.com/v1",), {"ServiceMonitor", "PrometheusRule"}),
        (True, (), {"ServiceMonitor", "PrometheusRule"}),
        (False, ("monitoring.coreos.com/v1",), set()),
    ],
    ids=["enabled-with-api", "enabled-without-api", "disabled"],
)
def test_monitoring_objects_render_whenever_enabled(
    enabled: bool, api_versions: tuple[str, ...], expected: set[str]
) -> None:
    # `helm template | kubectl apply` sees no cluster: dropping them there would lose monitoring
    values = minimal_values(
        serviceMonitor={"enabled": enabled}, prometheusRule={"enabled": enabled}
    )
    rendered = render(values, api_versions=api_versions)
    assert kinds(objects(rendered)) & {"ServiceMonitor", "PrometheusRule"} == expected
    noted = "the monitoring.coreos.com/v1 API is not\nvisible here" in notes(rendered)
    assert noted == (enabled and not api_versions)


def test_service_monitor_carries_the_release_label_for_kube_prometheus_stack() -> None:
    values = minimal_values(
        serviceMonitor={
            "enabled": True,
            "additionalLabels": {"release": "kps"},
            "interval": "1m",
            "scrapeTimeout": "20s",
        }
    )
    objs = objects(render(values))
    monitor = find(objs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["interval"], endpoint["scrapeTimeout"], endpoint["path"]) == (
        "1m",
        "20s",
        "/metrics",
    )
    service = find(objs, "Service")
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )


def test_values_reach_the_config_file() -> None:
    values = minimal_values(
        config={
            "dry_run": True,
            "paused": True,
            "poll_interval": "2m",
            "policy": {
                "windows": [
                    {"start": "22:00", "end": "02:00"},
                    {"days": ["Sat"], "start": "01:00", "end": "06:00"},
                ]
            },
            "overrides": [{"match": "prod-*", "policy": {"cooldown": "12h"}}],
            "clusters": {"exclude": ["prod-finance"]},
        }
    )
    config = yaml.safe_load(config_text(objects(render(values))))
    assert (config["dry_run"], config["paused"], config["poll_interval"]) == (True, True, "2m")
    assert [w["start"] for w in config["policy"]["windows"]] == ["22:00", "01:00"]
    assert config["overrides"] == [{"match": "prod-*", "policy": {"cooldown": "12h"}}]
    assert config["clusters"]["exclude"] == ["prod-finance"]
    assert config["clusters"]["include"] == ["*"]  # Helm merges maps: untouched defaults stay


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"region": "ap-southeast-3"}, "https://dws.ap-southeast-3.myhuaweicloud.com"),
        ({"endpoint": "https://dws.otc.example:8443"}, "https://dws.otc.example:8443"),
    ],
    ids=["from-region", "explicit"],
)
def test_endpoint_defaults_to_the_region(config: dict[str, str], expected: str) -> None:
    assert (
        yaml.safe_load(config_text(objects(render(minimal_values(config=config)))))["endpoint"]
        == expected
    )


def test_helm_test_pod_probes_readyz_through_the_service() -> None:
    objs = objects(render(minimal_values()))
    pod = find(objs, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["containers"][0]["command"][-1] == f"http://{FULLNAME}.dws.svc:9108/readyz"
    # The Service and the StatefulSet must never select the test pod itself.
    selector = find(objs, "Service")["spec"]["selector"]
    assert not selector.items() <= pod["metadata"]["labels"].items()
    assert "Pod" not in kinds(objects(render(minimal_values(testFramework={"enabled": False}))))
