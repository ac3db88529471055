"""scripts/release.sh, run for real: the image's OCI labels, the chart's appVersion and image, the push commands."""

from __future__ import annotations

import os
import subprocess
import tarfile

import pytest
import yaml
from helm_python import Chart, disable_logging
from imagekit import ROOT, MountedImage, Release

import controller

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

#: What the image is built from (.dockerignore keeps the rest of the tree out of it).
INPUTS = [
    "Dockerfile",
    ".dockerignore",
    "requirements.lock",
    "pyproject.toml",
    "README.md",
    "controller",
]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def _commit_time() -> str:
    """The commit's time in UTC: the label does not change from one build of a commit to the next."""
    done = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "log",
            "-1",
            "--format=%cd",
            "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "TZ": "UTC"},
    )
    return done.stdout.strip()


def test_the_image_carries_the_release_labels(built: Release, image: MountedImage) -> None:
    labels = image.config["Labels"]
    dirty = "-dirty" if _git("status", "--porcelain", "--", *INPUTS) else ""
    assert {k: v for k, v in labels.items() if k.startswith("org.opencontainers.image.")} == {
        "org.opencontainers.image.title": "dws-rebalancer",
        "org.opencontainers.image.description": labels["org.opencontainers.image.description"],
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.version": controller.__version__,
        "org.opencontainers.image.revision": _git("rev-parse", "HEAD") + dirty,
        "org.opencontainers.image.created": _commit_time(),
        "org.opencontainers.image.source": "https://example.org/dws-rebalancer",
        "org.opencontainers.image.base.name": built.base,
    }


def test_the_base_is_the_recorded_digest(built: Release) -> None:
    assert built.base.startswith("localhost/dws-base@sha256:")
    assert (built.archive.parents[1] / "base-image.ref").read_text().strip() == built.base


def _packaged(built: Release, name: str) -> dict[str, object]:
    with tarfile.open(built.archive) as tar:
        member = tar.extractfile(f"{built.chart_name}/{name}")
        assert member is not None
        loaded: dict[str, object] = yaml.safe_load(member.read())
    return loaded


def test_the_chart_has_the_image_version_as_appversion(built: Release) -> None:
    chart = _packaged(built, "Chart.yaml")
    source = yaml.safe_load((ROOT / "charts/dws-rebalancer/Chart.yaml").read_text())
    assert chart["name"] == built.chart_name
    assert chart["appVersion"] == controller.__version__
    assert chart["version"] == source["version"]
    assert built.archive.name == f"{built.chart_name}-{source['version']}.tgz"


def test_the_packaged_chart_deploys_the_released_image(built: Release) -> None:
    disable_logging()
    values = yaml.safe_load((ROOT / "charts/dws-rebalancer/ci/default-values.yaml").read_text())
    rendered = Chart.load(built.archive).render(values=values, name="rb")
    manifests = [text for path, text in rendered.items() if path.endswith(".yaml")]  # not NOTES.txt
    documents = [d for text in manifests for d in yaml.safe_load_all(text) if d]
    (statefulset,) = [d for d in documents if d["kind"] == "StatefulSet"]
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers if c["name"] == "dws-rebalancer"] == [built.image]


def test_the_release_says_how_to_push_both(built: Release) -> None:
    assert built.output.splitlines()[-3:] == [
        "push both (after podman login / helm registry login):",
        f"  podman push {built.image}",
        f"  helm push {built.archive} oci://registry.example/charts",
    ]
