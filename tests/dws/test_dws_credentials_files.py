"""Secrets mounted as files are re-read when they change: a rotated Secret is used without a restart."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from dwskit import AK, PASSWORD, PROJECT, SK, ClientFactory

from controller.app.credentials import credential_from_settings
from controller.clock import ManualClock
from controller.dws.credentials.secretfile import SecretFile, SecretFileError
from controller.logs import REDACTED, configure_logging, get_logger
from controller.settings import Settings, load_settings
from controller.simulator.world import Simulator


def kube_secret(root: Path, **files: str) -> Path:
    """A Secret volume as the kubelet writes it: `..data` -> a timestamped dir, files link through it."""
    stamp = f"..{len(list(root.glob('..2*')))}_2026"
    target = root / stamp.replace("..", "..2")
    target.mkdir(parents=True)
    for name, value in files.items():
        (target / name).write_text(value + "\n")
    link = root / "..data_tmp"
    link.symlink_to(target.name)
    os.replace(link, root / "..data")  # the atomic swap
    for name in files:
        if not (root / name).is_symlink():
            (root / name).symlink_to(f"..data/{name}")
    return root


def settings(**auth: str) -> Settings:
    environ = {"DWS_REBALANCER_ENDPOINT": "http://dws.sim", "DWS_REBALANCER_PROJECT_ID": PROJECT}
    environ |= {f"DWS_REBALANCER_AUTH__{k.upper()}": v for k, v in auth.items()}
    return load_settings(None, environ)


def test_a_secret_file_follows_the_kubelet_swap(tmp_path: Path) -> None:
    volume = kube_secret(tmp_path / "secret", sk="first-sk-value")
    secret = SecretFile(volume / "sk")
    assert secret.get_secret_value() == "first-sk-value"  # stripped of the newline
    kube_secret(volume, sk="second-sk-value")
    assert secret.get_secret_value() == "second-sk-value"
    assert secret.get_secret_value() == "second-sk-value"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read auth.sk_file {path}: No such file or directory"),
        ("\n", "auth.sk_file {path} is empty"),
        (b"\xff", "auth.sk_file {path} is not UTF-8 text"),
    ],
    ids=["missing", "empty", "binary"],
)
def test_a_bad_secret_file_is_one_clear_error(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "sk"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SecretFileError) as info:
        SecretFile(path, what="auth.sk_file").get_secret_value()
    assert info.value.detail == message.format(path=path)


def test_a_value_read_from_a_file_is_masked_in_logs(tmp_path: Path) -> None:
    path = tmp_path / "sk"
    path.write_text("file-borne-SK-secret")
    out = io.StringIO()
    configure_logging(fmt="json", level="info", stream=out)
    value = SecretFile(path).get_secret_value()
    get_logger("test").info("oops", detail=f"the key is {value}")
    assert "file-borne-SK-secret" not in out.getvalue()
    assert REDACTED in out.getvalue()


async def test_rotated_ak_sk_files_are_used_from_the_next_request(
    tmp_path: Path, sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    volume = kube_secret(tmp_path / "secret", ak=AK, sk=SK)
    config = settings(ak_file=str(volume / "ak"), sk_file=str(volume / "sk"))
    client = in_process(auth=credential_from_settings(config, clock, environ={}).auth())
    assert len(await client.list_clusters()) == 2
    sim.ak, sim.sk = "ROTATEDAK00000000000", "rotated-secret-key-value"
    kube_secret(volume, ak=sim.ak, sk=sim.sk)
    assert len(await client.list_clusters()) == 2
    assert sim.counts["unauthorized"] == 0


async def test_a_rotated_token_file(
    tmp_path: Path, sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    expiry = clock.now() + dt.timedelta(hours=1)
    sim.tokens = {"MIIfirst-token": expiry, "MIIsecond-token": expiry}
    volume = kube_secret(tmp_path / "secret", token="MIIfirst-token")
    config = settings(token_file=str(volume / "token"))
    client = in_process(auth=credential_from_settings(config, clock, environ={}).auth())
    await client.list_clusters()
    del sim.tokens["MIIfirst-token"]
    kube_secret(volume, token="MIIsecond-token")
    assert len(await client.list_clusters()) == 2
    assert sim.counts["unauthorized"] == 0


async def test_a_rotated_password_file_is_read_at_the_next_login(
    tmp_path: Path, sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    volume = kube_secret(tmp_path / "secret", password=PASSWORD)
    config = settings(
        username="alice",
        domain="acme",
        password_file=str(volume / "password"),
        iam_endpoint="http://iam.sim",
    )
    client = in_process(auth=credential_from_settings(config, clock, environ={}).auth())
    await client.list_clusters()
    sim.iam_users["alice"] = ("alice-NEW-password", "acme")
    kube_secret(volume, password="alice-NEW-password")
    sim.tokens.clear()  # the old token is gone: the next request logs in again
    assert len(await client.list_clusters()) == 2
    assert sim.counts["iam_token"] == 2


async def test_a_file_that_vanishes_at_run_time_stops_the_call(
    tmp_path: Path, sim: Simulator, in_process: ClientFactory, clock: ManualClock
) -> None:
    (tmp_path / "ak").write_text(AK)
    (tmp_path / "sk").write_text(SK)
    config = settings(ak_file=str(tmp_path / "ak"), sk_file=str(tmp_path / "sk"))
    client = in_process(auth=credential_from_settings(config, clock, environ={}).auth())
    (tmp_path / "sk").unlink()
    with pytest.raises(SecretFileError, match=r"cannot read auth\.sk_file"):
        await client.list_clusters()
    assert sim.counts["list_clusters"] == 0
