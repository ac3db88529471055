"""Building the real release with podman (offline: local base image + locked wheelhouse) and running its filesystem.

The machines have no registry and cannot run containers, but podman can build with
`--isolation=chroot` and mount an image read-only; `run` then executes a command from that mount
the way the pod would: as the image's USER, in its WORKDIR, with its ENV, a read-only root, a
writable /tmp and a writable journal directory bind-mounted in a private mount namespace, so
nothing stays mounted when the process ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import controller

ROOT = Path(__file__).resolve().parents[2]
BASE_SCRIPT = ROOT / "scripts" / "make-base-image.sh"
RELEASE_SCRIPT = ROOT / "scripts" / "release.sh"
LOCK = ROOT / "requirements.lock"
TOOLS = ("podman", "debootstrap", "unshare", "chroot", "mount")
JOURNAL_DIR = "/var/lib/dws-rebalancer"


class StepFailed(AssertionError):
    """A build or run step failed; the message carries the command and the end of its output."""


def missing_prerequisites() -> list[str]:
    problems = [f"{tool} is not installed" for tool in TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        problems.append("not running as root (podman image mount, bind mounts and chroot need it)")
    return problems


def step(argv: list[str], *, timeout: float, what: str, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; StepFailed names `what` and shows the output's tail."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{what}: no result after {timeout:.0f}s: {' '.join(argv)}") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise StepFailed(f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n{tail}")
    return done.stdout


def base_image_tag() -> str:
    """Named after the recipe, so a changed recipe never reuses a stale base image."""
    digest = hashlib.sha256(BASE_SCRIPT.read_bytes()).hexdigest()[:12]
    return f"localhost/dws-base:bookworm-{digest}"


def make_base_image(record: Path) -> str:
    """The base image pinned by digest, as the script prints it and records it in `record`."""
    out = step(
        [str(BASE_SCRIPT), base_image_tag(), "--record", str(record)],
        timeout=600,
        what="debootstrap base image",
    )
    return out.strip()


def make_wheelhouse(directory: Path) -> Path:
    """The locked files themselves, hashes checked, as the image's pip will check them again."""
    step(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "--requirement",
            str(LOCK),
            "--dest",
            str(directory),
        ],
        timeout=300,
        what="pip download (wheelhouse)",
    )
    return directory


@dataclass
class Release:
    """What scripts/release.sh built and said."""

    image: str
    repository: str
    base: str
    chart_name: str
    archive: Path
    output: str


def release(*, repository: str, chart_name: str, base: str, wheelhouse: Path, out: Path) -> Release:
    """scripts/release.sh with every option set, as a release engineer without a registry runs it."""
    # --layers=false: no intermediate images (the build stage) are left behind in the store.
    output = step(
        [
            str(RELEASE_SCRIPT),
            "--image-repository",
            repository,
            "--chart-name",
            chart_name,
            "--chart-registry",
            "oci://registry.example/charts",
            "--source",
            "https://example.org/dws-rebalancer",
            "--base",
            base,
            "--wheelhouse",
            str(wheelhouse),
            "--output",
            str(out),
            "--",
            "--isolation=chroot",
            "--layers=false",
            "--quiet",
        ],
        timeout=900,
        what="scripts/release.sh",
        env={**os.environ, "CONTAINER_ENGINE": "podman"},
    )
    (archive,) = out.glob(f"{chart_name}-*.tgz")
    image = f"{repository}:{controller.__version__}"
    return Release(image, repository, base, chart_name, archive, output)


@dataclass
class MountedImage:
    tag: str
    root: Path
    config: dict[str, Any]

    @property
    def user(self) -> str:
        return str(self.config["User"])

    @property
    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.config.get("Env", []))

    def command(
        self, argv: list[str], *, scratch: Path, journal: Path, env: dict[str, str]
    ) -> list[str]:
        """argv run as the pod would: USER, WORKDIR, ENV (+ env), read-only root, writable /tmp and journal."""
        variables = [f"{k}={v}" for k, v in {**self.env, **env}.items()]
        script = (
            'mount --bind "$1" "$3/tmp" && mount --bind "$2" "$3' + JOURNAL_DIR + '" && '
            'exec chroot --userspec="$4" "$3" /usr/bin/env -i -C "$5" "${@:6}"'
        )
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "bash",
            "-c",
            script,
            "run-in-image",
            str(scratch),
            str(journal),
            str(self.root),
            self.user,
            self.config["WorkingDir"],
            *variables,
            *argv,
        ]


def inspect(tag: str) -> dict[str, Any]:
    (info,) = json.loads(
        step(["podman", "image", "inspect", tag], timeout=60, what="podman image inspect")
    )
    config: dict[str, Any] = info["Config"]
    return config


def mount(tag: str) -> MountedImage:
    root = Path(
        step(["podman", "image", "mount", tag], timeout=60, what="podman image mount").strip()
    )
    return MountedImage(tag=tag, root=root, config=inspect(tag))


def unmount_and_remove(tag: str) -> None:
    """Best effort: a failed cleanup must not hide the test result."""
    subprocess.run(
        ["podman", "image", "unmount", tag], capture_output=True, timeout=60, check=False
    )
    subprocess.run(["podman", "rmi", "--force", tag], capture_output=True, timeout=120, check=False)


def writable_dir(path: Path, owner: str) -> Path:
    """A directory the image's user can write (like an emptyDir or a volume with fsGroup)."""
    uid, _, gid = owner.partition(":")
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, int(uid), int(gid or uid))
    return path
