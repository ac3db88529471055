"""The chart's credentials: the Secret mounted as files, keyless methods (OIDC, pod identity, metadata), and what the controller makes of them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import (
    FULLNAME,
    controller_container,
    env_map,
    find,
    minimal_values,
    objects,
    pod_spec,
    render,
)
from helm_python.errors import HelmError

from controller.app.credentials import credential_from_settings
from controller.clock import ManualClock
from controller.settings import load_settings

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

CREDENTIALS_DIR = "/var/run/secrets/dws-rebalancer/credentials"
OIDC_DIR = "/var/run/secrets/dws-rebalancer/oidc"
NO_KEYS = {"ak": "", "sk": ""}


def values(**auth: Any) -> dict[str, Any]:
    """Minimal values whose auth is exactly `auth` (the CI default's AK/SK blanked)."""
    return minimal_values(auth={**NO_KEYS, **auth})


def auth_env(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in env_map(objs).items() if k.startswith("DWS_REBALANCER_AUTH__")}


def volume(objs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((v for v in pod_spec(objs)["volumes"] if v["name"] == name), None)


def mounts(objs: list[dict[str, Any]]) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in controller_container(objs)["volumeMounts"]}


@pytest.mark.parametrize(
    ("auth", "files", "refs"),
    [
        ({"ak": "AK", "sk": "SK"}, {"ak": "ak", "sk": "sk"}, {}),
        ({"token": "T"}, {"token": "token"}, {}),
        (
            {"ak": "AK", "sk": "SK", "securityToken": "ST"},
            {"ak": "ak", "sk": "sk", "securityToken": "securityToken"},
            {},
        ),
        (
            {"existingSecret": "dws", "secretKeys": {"ak": "access-key", "sk": "secret-key"}},
            {"ak": "access-key", "sk": "secret-key"},
            {},
        ),
        (
            {
                "existingSecret": "dws",
                "secretKeys": {"ak": "", "sk": "", "username": "u", "password": "p", "domain": "d"},
            },
            {"password": "p"},
            {"USERNAME": ("dws", "u"), "DOMAIN": ("dws", "d")},
        ),
    ],
    ids=["aksk", "token", "temporary-aksk", "existing-secret", "existing-secret-password"],
)
def test_secret_credentials_are_mounted_files(
    auth: dict[str, Any], files: dict[str, str], refs: dict[str, tuple[str, str]]
) -> None:
    objs = objects(render(values(**auth)))
    secret_name = auth.get("existingSecret", FULLNAME)
    credentials = volume(objs, "credentials")
    assert credentials == {
        "name": "credentials",
        "secret": {
            "secretName": secret_name,
            "defaultMode": 0o440,
            "items": [{"key": key, "path": name} for name, key in sorted(files.items())],
        },
    }
    assert mounts(objs)["credentials"] == CREDENTIALS_DIR
    suffix = {
        "ak": "AK",
        "sk": "SK",
        "securityToken": "SECURITY_TOKEN",
        "token": "TOKEN",
        "password": "PASSWORD",
    }
    expected = {f"DWS_REBALANCER_AUTH__{suffix[n]}_FILE": f"{CREDENTIALS_DIR}/{n}" for n in files}
    expected |= {
        f"DWS_REBALANCER_AUTH__{n}": {"secretKeyRef": {"name": secret, "key": key}}
        for n, (secret, key) in refs.items()
    }
    assert auth_env(objs) == expected
    chart_secret = [o for o in objs if o["kind"] == "Secret"]
    if "existingSecret" in auth:
        assert chart_secret == []
    else:
        assert set(chart_secret[0]["data"]) == set(files)


def _as_the_pod_sees_it(
    objs: list[dict[str, Any]], tmp_path: Path, secret: dict[str, str]
) -> dict[str, str]:
    """The pod's environment with the mounted directories mapped into `tmp_path`."""
    volume_dir = tmp_path / "credentials"
    volume_dir.mkdir()
    items = (volume(objs, "credentials") or {"secret": {"items": []}})["secret"]["items"]
    for item in items:
        (volume_dir / item["path"]).write_text(secret[item["key"]])
    environ = {}
    for name, value in env_map(objs).items():
        if isinstance(value, str):
            environ[name] = value.replace(CREDENTIALS_DIR, str(volume_dir)).replace(
                OIDC_DIR, str(tmp_path)
            )
        elif "secretKeyRef" in value:
            environ[name] = secret[value["secretKeyRef"]["key"]]
    config = tmp_path / "config.yaml"
    config.write_text(find(objs, "ConfigMap", FULLNAME)["data"]["config.yaml"])
    environ["DWS_REBALANCER_CONFIG"] = str(config)
    return environ


def test_the_controller_reads_the_mounted_secret(tmp_path: Path) -> None:
    secret = {"access-key": "AKFROMFILE000000", "secret-key": "sk-from-the-mounted-file"}
    auth = {"existingSecret": "dws", "secretKeys": {"ak": "access-key", "sk": "secret-key"}}
    environ = _as_the_pod_sees_it(objects(render(values(**auth))), tmp_path, secret)
    settings = load_settings(None, environ)
    credential = credential_from_settings(settings, ManualClock(START), {})
    assert credential.method == "aksk"
    assert credential.describe() == {
        "ak": f"file {tmp_path}/credentials/ak",
        "sk": f"file {tmp_path}/credentials/sk",
        "temporary": "false",
    }
    assert credential.secret_values() == []  # read from the files (and masked) when used


def test_oidc_mounts_a_projected_token_for_iams_audience() -> None:
    oidc = {"idpId": "cce-idp", "audience": "dws-rebalancer", "expirationSeconds": 7200}
    objs = objects(render(values(method="oidc", oidc=oidc)))
    assert volume(objs, "oidc-token") == {
        "name": "oidc-token",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": "dws-rebalancer",
                        "expirationSeconds": 7200,
                        "path": "token",
                    }
                }
            ],
        },
    }
    assert mounts(objs)["oidc-token"] == OIDC_DIR
    assert auth_env(objs) == {
        "DWS_REBALANCER_AUTH__METHOD": "oidc",
        "DWS_REBALANCER_AUTH__IDP_ID": "cce-idp",
        "DWS_REBALANCER_AUTH__ID_TOKEN_FILE": f"{OIDC_DIR}/token",
    }
    assert [o for o in objs if o["kind"] == "Secret"] == []
    assert volume(objs, "credentials") is None
    assert pod_spec(objs)["automountServiceAccountToken"] is False  # no API token, still


def test_the_pod_chooses_oidc_from_what_the_chart_rendered(tmp_path: Path) -> None:
    objs = objects(render(values(method="oidc", oidc={"idpId": "cce-idp", "audience": "a"})))
    environ = _as_the_pod_sees_it(objs, tmp_path, {})
    (tmp_path / "token").write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")  # the kubelet's
    settings = load_settings(None, environ)
    credential = credential_from_settings(settings, ManualClock(START), {})
    assert (credential.method, credential.describe()["idp_id"]) == ("oidc", "cce-idp")


@pytest.mark.parametrize("method", ["metadata", "pod_identity", "env"])
def test_keyless_methods_render_no_secret(method: str) -> None:
    objs = objects(render(values(method=method)))
    assert [o for o in objs if o["kind"] == "Secret"] == []
    assert volume(objs, "credentials") is None
    assert auth_env(objs) == {"DWS_REBALANCER_AUTH__METHOD": method}


def test_service_account_annotations_for_pod_identity() -> None:
    annotations = {"cce.io/iam-agency": "dws-rebalancer-agency"}
    objs = objects(
        render(
            values(method="pod_identity")
            | {"serviceAccount": {"create": True, "annotations": annotations}}
        )
    )
    account = find(objs, "ServiceAccount")
    assert account["metadata"]["annotations"] == annotations
    assert pod_spec(objs)["serviceAccountName"] == account["metadata"]["name"]


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"method": "oidc"}, "auth.method oidc needs auth.oidc.idpId"),
        ({"method": "oidc", "oidc": {"idpId": "i"}}, "and auth.oidc.audience"),
        (
            {"method": "metadata", "ak": "AK", "sk": "SK"},
            "auth.method metadata finds its credentials at run time: remove auth.existingSecret and the auth.* credentials (ak, sk)",
        ),
        (
            {"method": "pod_identity", "existingSecret": "dws"},
            "auth.method pod_identity finds its credentials at run time",
        ),
        ({}, "no credentials: set auth.existingSecret"),
    ],
)
def test_values_that_cannot_work_fail_the_render(auth: dict[str, Any], message: str) -> None:
    with pytest.raises(
        HelmError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace(".", r"\.")
        .replace("*", r"\*"),
    ):
        render(values(**auth))


@pytest.mark.parametrize(
    ("auth", "ports"),
    [
        ({"ak": "AK", "sk": "SK"}, [443]),
        ({"method": "metadata"}, [443, 80]),
        ({"method": "pod_identity"}, [443]),  # its endpoint is CCE's: an extraEgress rule
        ({"method": "metadata", "metadataEndpoint": "http://100.125.0.1:8080"}, [443, 8080]),
    ],
)
def test_network_policy_opens_the_metadata_port_only_when_it_may_be_used(
    auth: dict[str, Any], ports: list[int]
) -> None:
    objs = objects(render(values(**auth) | {"networkPolicy": {"enabled": True}}))
    policy = find(objs, "NetworkPolicy")
    api_rule = policy["spec"]["egress"][1]
    assert [p["port"] for p in api_rule["ports"]] == ports


def test_values_yaml_documents_the_new_keys() -> None:
    defaults = yaml.safe_load(
        (Path(__file__).parents[2] / "charts/dws-rebalancer/values.yaml").read_text()
    )
    assert defaults["auth"]["method"] == "auto"
    assert defaults["auth"]["oidc"] == {"idpId": "", "audience": "", "expirationSeconds": 3600}
