"""The escape hatches (extra containers, manifests, DNS, hosts), the ServiceMonitor's knobs, IPv6 listening and the image notes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import (
    CHART_DIR,
    FULLNAME,
    ci_values,
    config_text,
    controller_container,
    find,
    minimal_values,
    notes,
    objects,
    pod_spec,
    render,
)
from helm_python import Chart, HelmValuesError

from controller.settings import load_settings

EXTRAS = ci_values(CHART_DIR / "ci" / "extras-values.yaml")


@pytest.fixture(scope="module")
def extras() -> list[dict[str, Any]]:
    return objects(render(EXTRAS))


def test_extra_containers_run_beside_the_controller_templated(
    extras: list[dict[str, Any]],
) -> None:
    spec = pod_spec(extras)
    assert [c["name"] for c in spec["containers"]] == ["dws-rebalancer", "proxy"]
    assert spec["containers"][1]["args"] == ["--upstream", "rb"]
    assert [c["name"] for c in spec["initContainers"]] == ["wait-for-proxy"]


def test_pod_level_hatches(extras: list[dict[str, Any]]) -> None:
    spec = pod_spec(extras)
    assert spec["hostAliases"] == EXTRAS["hostAliases"]
    assert spec["dnsConfig"] == EXTRAS["dnsConfig"]
    assert {"name": "ca-bundle", "configMap": {"name": "private-cloud-ca"}} in spec["volumes"]
    container = controller_container(extras)
    assert EXTRAS["extraVolumeMounts"][0] in container["volumeMounts"]
    assert EXTRAS["extraEnv"][0] in container["env"]
    assert find(extras, "StatefulSet")["spec"]["revisionHistoryLimit"] == 3


def test_without_hatches_the_pod_has_none_of_them() -> None:
    objs = objects(render(minimal_values()))
    spec = pod_spec(objs)
    assert not {"hostAliases", "dnsConfig", "initContainers"} & set(spec)
    assert len(spec["containers"]) == 1
    assert find(objs, "StatefulSet")["spec"]["revisionHistoryLimit"] == 10


def test_extra_manifests_as_maps_and_strings_are_templated(extras: list[dict[str, Any]]) -> None:
    assert find(extras, "ConfigMap", "rb-private-cloud-ca")["data"] == {"ca.crt": "placeholder"}
    find(extras, "ServiceAccount", "rb-extra")


def test_service_monitor_knobs(extras: list[dict[str, Any]]) -> None:
    monitor = find(extras, "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "monitoring"
    spec = monitor["spec"]
    # it lives elsewhere but still scrapes the release namespace
    assert spec["namespaceSelector"] == {"matchNames": ["dws"]}
    assert (spec["targetLabels"], spec["sampleLimit"]) == (["app.kubernetes.io/instance"], 5000)
    (endpoint,) = spec["endpoints"]
    assert endpoint["relabelings"] == EXTRAS["serviceMonitor"]["relabelings"]
    assert endpoint["metricRelabelings"] == EXTRAS["serviceMonitor"]["metricRelabelings"]


def test_service_monitor_defaults_leave_the_optional_fields_out() -> None:
    monitor = find(
        objects(render(minimal_values(serviceMonitor={"enabled": True}))), "ServiceMonitor"
    )
    assert monitor["metadata"]["namespace"] == "dws"
    assert not {"targetLabels", "sampleLimit"} & set(monitor["spec"])


def test_service_ip_families(extras: list[dict[str, Any]]) -> None:
    spec = find(extras, "Service")["spec"]
    assert (spec["ipFamilyPolicy"], spec["ipFamilies"]) == ("PreferDualStack", ["IPv6", "IPv4"])
    default = find(objects(render(minimal_values())), "Service")["spec"]
    assert not {"ipFamilyPolicy", "ipFamilies"} & set(default)


@pytest.mark.parametrize(
    ("address", "listen", "host"),
    [("::", "[::]:9108", "[::]"), ("0.0.0.0", "0.0.0.0:9108", "0.0.0.0")],
    ids=["dual-stack", "ipv4-only"],
)
def test_the_controller_listens_where_the_chart_says(
    address: str, listen: str, host: str, tmp_path: Path
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        config_text(objects(render(minimal_values(listenAddress=address)))), encoding="utf-8"
    )
    settings = load_settings(path, {"DWS_REBALANCER_AUTH__AK": "a", "DWS_REBALANCER_AUTH__SK": "s"})
    assert settings.listen == listen
    assert (settings.listen_host, settings.listen_port) == (host, 9108)


@pytest.mark.parametrize("address", ["[::]", "localhost", "::/0", ""])
def test_a_listen_address_must_be_an_ip(address: str) -> None:
    with pytest.raises(HelmValuesError, match="at '/listenAddress'"):
        render(minimal_values(listenAddress=address))


@pytest.mark.parametrize(
    ("image", "warned"),
    [
        ({}, True),
        ({"registry": "swr.cn-north-4.myhuaweicloud.com", "repository": "ops/dws"}, False),
        ({"repository": "ops/dws-rebalancer"}, False),
    ],
    ids=["default", "own-registry", "own-repository"],
)
def test_notes_say_when_the_default_image_must_be_replaced(
    image: dict[str, str], warned: bool
) -> None:
    text = notes(render(minimal_values(image=image)))
    assert ("IMAGE: the pod runs the chart's default image" in text) == warned
    assert ("Replace the image repository when your nodes cannot pull" in text) == warned


def test_a_renamed_chart_names_everything_after_itself(tmp_path: Path) -> None:
    # the release script may package the chart under another name
    renamed = tmp_path / "rebalancer"
    shutil.copytree(CHART_DIR, renamed)
    meta = yaml.safe_load((renamed / "Chart.yaml").read_text(encoding="utf-8"))
    (renamed / "Chart.yaml").write_text(yaml.safe_dump({**meta, "name": "rebalancer"}))
    values = minimal_values(serviceMonitor={"enabled": True}, prometheusRule={"enabled": True})
    objs = objects(Chart.load(renamed).render(values, name="rb", namespace="dws"))
    names = {o["metadata"]["name"] for o in objs}
    assert names >= {"rb-rebalancer", "rb-rebalancer-test-readyz"}
    assert not any(FULLNAME in name for name in names)
    rule = find(objs, "PrometheusRule")["spec"]["groups"][0]["rules"][0]
    assert 'job="rebalancer",namespace="dws"' in rule["expr"]
    labels = find(objs, "Service")["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "rebalancer"
