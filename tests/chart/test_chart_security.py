"""The security properties the chart promises: non-root, read-only, no token, no secrets outside Secrets, tight network."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from chartkit import (
    ROOT,
    controller_container,
    find,
    minimal_values,
    objects,
    pod_spec,
    render,
)


def _pods(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The controller's pod spec and, when rendered, the `helm test` pod's."""
    return [pod_spec(objs)] + [o["spec"] for o in objs if o["kind"] == "Pod"]


def test_pods_run_as_a_numeric_non_root_user(ci_objects: list[dict[str, Any]]) -> None:
    for spec in _pods(ci_objects):
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True
        for key in ("runAsUser", "runAsGroup"):
            assert isinstance(context[key], int), f"{key} must be numeric"
            assert context[key] > 0, f"{key} must not be root"
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_containers_are_locked_down(ci_objects: list[dict[str, Any]]) -> None:
    for spec in _pods(ci_objects):
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_no_service_account_token_is_mounted(ci_objects: list[dict[str, Any]]) -> None:
    for spec in _pods(ci_objects):
        assert spec["automountServiceAccountToken"] is False
    for account in (o for o in ci_objects if o["kind"] == "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_service_account_can_carry_annotations() -> None:
    annotations = {"example.com/role": "dws-rebalancer"}
    objs = objects(render(minimal_values(serviceAccount={"annotations": annotations})))
    assert find(objs, "ServiceAccount")["metadata"]["annotations"] == annotations


def test_tmp_is_a_writable_empty_dir(ci_objects: list[dict[str, Any]]) -> None:
    volumes = {v["name"]: v for v in pod_spec(ci_objects)["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in controller_container(ci_objects)["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_probes_check_healthz_and_readyz_on_the_metrics_port(
    ci_objects: list[dict[str, Any]],
) -> None:
    container = controller_container(ci_objects)
    (port,) = container["ports"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}


def test_chart_user_matches_the_image_user(ci_objects: list[dict[str, Any]]) -> None:
    match = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile must end with a numeric USER uid:gid"
    context = pod_spec(ci_objects)["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (int(match[1]), int(match[2]))


_SECRETS = {
    "ak": "AKIDEXAMPLEAK1234567",
    "sk": "sk-must-never-leak-1",
    "securityToken": "st-must-never-leak-2",
}


@pytest.mark.parametrize(
    "auth",
    [
        {k: _SECRETS[k] for k in ("ak", "sk", "securityToken")},
        {"ak": "", "sk": "", "token": "tok-must-never-leak-3"},
        {"ak": "", "sk": "", "username": "u", "password": "pw-must-never-leak-4", "domain": "d"},
    ],
    ids=["aksk", "token", "password"],
)
def test_credentials_appear_only_inside_the_secret(auth: dict[str, str]) -> None:
    rendered = render(minimal_values(auth=auth))
    secret_values = [
        v for k, v in auth.items() if k in ("sk", "securityToken", "token", "password") and v
    ]
    outside = "\n".join(
        [text for path, text in rendered.items() if path.endswith("NOTES.txt")]
        + [yaml.safe_dump(o) for o in objects(rendered) if o["kind"] != "Secret"]
    )
    for value in secret_values:
        assert value not in outside


@pytest.mark.parametrize(
    ("config", "auth", "api_ports"),
    [
        ({}, {}, [443]),
        ({"endpoint": "https://dws.example.internal:8443"}, {}, [8443, 443]),
        ({"endpoint": "http://127.0.0.1:8088"}, {"iamEndpoint": "http://127.0.0.1:8088"}, [8088]),
        ({}, {"iamEndpoint": "https://iam.example.internal:4443/"}, [443, 4443]),
    ],
    ids=["huawei-cloud", "custom-port", "one-emulator", "custom-iam"],
)
def test_network_policy_allows_dns_and_the_endpoint_ports_only(
    config: dict[str, str], auth: dict[str, str], api_ports: list[int]
) -> None:
    values = minimal_values(config=config, auth=auth, networkPolicy={"enabled": True})
    policy = find(objects(render(values)), "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert [r["ports"] for r in policy["ingress"]] == [
        [{"port": "http-metrics", "protocol": "TCP"}]
    ]
    dns, api = policy["egress"]
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert api["ports"] == [{"port": p, "protocol": "TCP"} for p in api_ports]


def test_restricted_metrics_sources_still_admit_the_helm_test_pod() -> None:
    source = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    objs = objects(render(minimal_values(networkPolicy={"enabled": True, "metricsFrom": [source]})))
    (rule,) = find(objs, "NetworkPolicy")["spec"]["ingress"]
    test_labels = find(objs, "Pod")["metadata"]["labels"]
    assert rule["from"][0] == source
    assert rule["from"][1]["podSelector"]["matchLabels"].items() <= test_labels.items()
