"""scripts/release.sh and the base-image script refuse bad input in one line, exit 2, before building anything."""

from __future__ import annotations

import subprocess

import pytest
from imagekit import BASE_SCRIPT, RELEASE_SCRIPT, ROOT


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "localhost/dws-base:bookworm"], "is not pinned by digest"),
        (["--image-repository", "ghcr.io/acme/dws:1.0"], "is not a repository reference"),
        (["--image-repository", "Acme/DWS"], "is not a repository reference"),
        (["--chart-name", "DWS_Rebalancer"], "lower-case letters, digits and dashes only"),
        (["--chart-registry", "https://registry.example"], "must start with oci://"),
        (["--output"], "--output needs a value"),
        (["--push"], "unknown option --push"),
    ],
)
def test_release_refuses_bad_input(args: list[str], message: str) -> None:
    done = _run(str(RELEASE_SCRIPT), *args)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert message in line


def test_release_takes_its_names_from_the_environment_too() -> None:
    done = subprocess.run(
        [str(RELEASE_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "CHART_NAME": "Not_A_Chart"},
    )
    assert done.returncode == 2
    assert "chart name Not_A_Chart" in done.stderr


def test_release_help_names_every_option() -> None:
    done = _run(str(RELEASE_SCRIPT), "--help")
    assert done.returncode == 0
    for option in ("--image-repository", "--chart-name", "--chart-registry", "--source", "--base"):
        assert option in done.stdout
    for variable in ("IMAGE_REPOSITORY", "CHART_NAME", "CHART_REGISTRY", "SOURCE_URL"):
        assert variable in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(["localhost/dws-base"], "needs a :tag"), (["--record"], "--record needs a file")],
)
def test_base_image_script_refuses_bad_input(args: list[str], message: str) -> None:
    done = _run(str(BASE_SCRIPT), *args)
    assert done.returncode == 2
    assert message in done.stderr
