"""The real image: its metadata, what it leaves out, and the controller running from it as the pod would."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helm_python import Chart, disable_logging
from imagekit import ROOT, MountedImage, writable_dir

import controller
from controller.clock import SystemClock
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PROJECT = "0123456789abcdef0123456789abcdef"
AK, SK = "E2EIMAGEAK0000000000", "e2e-image-secret-key"


def test_image_metadata(image: MountedImage) -> None:
    config = image.config
    uid, _, gid = image.user.partition(":")
    assert uid.isdigit(), "USER must be a numeric uid:gid"
    assert gid.isdigit(), "USER must be a numeric uid:gid"
    assert int(uid) > 0, "USER must not be root"
    assert config["Entrypoint"] == ["dws-rebalancer"]
    assert config["Cmd"] == ["run"]
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert image.env["PYTHONUNBUFFERED"] == "1"
    assert image.env["PATH"].startswith("/opt/venv/bin:")
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == controller.__version__
    assert labels["org.opencontainers.image.title"] == "dws-rebalancer"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.revision"] != "unknown"


@pytest.mark.parametrize(
    "pattern",
    [
        "usr/bin/gcc*",
        "usr/bin/cc",
        "usr/bin/*-linux-gnu-gcc*",
        "usr/bin/make",
        "opt/venv/bin/pip*",
        "opt/venv/lib/python3*/site-packages/setuptools",
        "opt/venv/lib/python3*/site-packages/pip",
        "root/.cache",
        "src",
        "wheelhouse",
        "mnt/*",
        "opt/venv/lib/python3*/site-packages/tests",
        "var/lib/apt/lists/*.*",
    ],
)
def test_final_image_leaves_out_build_tools_caches_and_tests(
    image: MountedImage, pattern: str
) -> None:
    assert sorted(str(p.relative_to(image.root)) for p in image.root.glob(pattern)) == []


def test_the_application_is_installed(image: MountedImage) -> None:
    site = next(image.root.glob("opt/venv/lib/python3*/site-packages"))
    assert (site / "controller" / "__init__.py").is_file()
    assert (image.root / "opt/venv/bin/dws-rebalancer").is_file()


@pytest.fixture
def dirs(image: MountedImage, tmp_path: Path) -> dict[str, Path]:
    """An emptyDir for /tmp and a journal volume, both owned by the image's user."""
    return {
        "scratch": writable_dir(tmp_path / "tmp", image.user),
        "journal": writable_dir(tmp_path / "journal", image.user),
    }


def _run(
    image: MountedImage, dirs: dict[str, Path], argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = image.command(argv, scratch=dirs["scratch"], journal=dirs["journal"], env=env or {})
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_version(image: MountedImage, dirs: dict[str, Path]) -> None:
    done = _run(image, dirs, ["dws-rebalancer", "--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dws-rebalancer {controller.__version__}"


def test_root_filesystem_is_read_only_and_tmp_is_writable(
    image: MountedImage, dirs: dict[str, Path]
) -> None:
    probe = (
        "import os\n"
        "for path in ('/opt/venv/probe', '/etc/probe', '/tmp/probe', '/var/lib/dws-rebalancer/probe'):\n"
        "    try:\n"
        "        open(path, 'w').close(); print(path, 'writable')\n"
        "    except OSError:\n"
        "        print(path, 'read-only')\n"
        "print('uid', os.getuid())\n"
    )
    done = _run(image, dirs, ["python3", "-c", probe])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "/opt/venv/probe read-only",
        "/etc/probe read-only",
        "/tmp/probe writable",
        "/var/lib/dws-rebalancer/probe writable",
        f"uid {image.user.partition(':')[0]}",
    ]


@pytest.fixture
def emulator() -> Iterator[BackgroundServer]:
    sim = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    sim.add_cluster(id="c-image-smoke", name="image-smoke", flags={"UNBALANCED"})
    with BackgroundServer(sim) as server:
        yield server


def _controller_env(emulator: BackgroundServer, **extra: str) -> dict[str, str]:
    """Configuration the way the chart passes it: credentials as DWS_REBALANCER_AUTH__* variables."""
    return {
        "DWS_REBALANCER_ENDPOINT": emulator.url,
        "DWS_REBALANCER_PROJECT_ID": PROJECT,
        "DWS_REBALANCER_AUTH__AK": AK,
        "DWS_REBALANCER_AUTH__SK": SK,
        "DWS_REBALANCER_DRY_RUN": "true",
        **extra,
    }


def test_check_config_against_the_emulator(
    image: MountedImage, dirs: dict[str, Path], emulator: BackgroundServer
) -> None:
    done = _run(image, dirs, ["dws-rebalancer", "check-config"], _controller_env(emulator))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "image-smoke (c-image-smoke)" in done.stdout
    assert SK not in done.stdout + done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


def _wait_ready(url: str, process: subprocess.Popen[str], deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the controller exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        if _get(url)[0] == 200:
            return
        time.sleep(0.2)  # polling a real process; correctness does not depend on this interval
    raise AssertionError(f"{url} not ready within {deadline_seconds:.0f}s")


def _helm_test_command(url: str) -> list[str]:
    """The `helm test` pod's command from the rendered chart, pointed at `url`."""
    disable_logging()
    values = yaml.safe_load((ROOT / "charts/dws-rebalancer/ci/default-values.yaml").read_text())
    rendered = Chart.load(ROOT / "charts/dws-rebalancer").render(values=values, name="rb")
    pod = next(d for k, t in rendered.items() if "tests/" in k for d in yaml.safe_load_all(t) if d)
    command: list[str] = pod["spec"]["containers"][0]["command"]
    return [*command[:-1], url]


@pytest.fixture
def running(
    image: MountedImage, dirs: dict[str, Path], emulator: BackgroundServer
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`dws-rebalancer run` (the image's CMD) from the image, listening on a loopback port."""
    base = f"http://127.0.0.1:{_free_port()}"
    env = _controller_env(emulator, DWS_REBALANCER_LISTEN=base.removeprefix("http://"))
    command = image.command(
        ["dws-rebalancer", *image.config["Cmd"]],
        scratch=dirs["scratch"],
        journal=dirs["journal"],
        env=env,
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_the_controller_runs_from_the_image(
    running: tuple[subprocess.Popen[str], str], image: MountedImage, dirs: dict[str, Path]
) -> None:
    process, base = running
    _wait_ready(f"{base}/readyz", process, deadline_seconds=60)
    status, metrics = _get(f"{base}/metrics")
    assert status == 200
    assert "dws_rebalancer_" in metrics
    status, body = _get(f"{base}/status")
    assert status == 200
    assert "image-smoke" in body
    json.loads(body)
    helm_test = _run(image, dirs, _helm_test_command(f"{base}/readyz"))
    assert helm_test.returncode == 0, helm_test.stderr
    assert (dirs["journal"] / "dws-rebalancer.db").exists(), "the journal belongs on the volume"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0, "SIGTERM must stop the controller cleanly"
