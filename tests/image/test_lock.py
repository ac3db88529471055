"""The lock files: every pin hashed, and every requirement of pyproject.toml met by a pin (a stale lock fails here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])
#: A pin as `uv pip compile --generate-hashes` writes it: `name==version [; marker] \`.
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)(?: ; (.+?))? \\$")
#: The environments a lock must serve: the image (bookworm's 3.11) and newer Pythons, x86 and arm.
ENVIRONMENTS = [
    {"python_version": v, "python_full_version": f"{v}.0", "platform_machine": m}
    for v in ("3.11", "3.12", "3.13")
    for m in ("x86_64", "aarch64")
]


def pins(lock: str) -> dict[str, tuple[Version, Marker | None, int]]:
    """name → (version, marker, number of hashes)."""
    lines = (ROOT / lock).read_text(encoding="utf-8").splitlines()
    found: dict[str, tuple[Version, Marker | None, int]] = {}
    for index, line in enumerate(lines):
        if match := PIN.match(line):
            hashes = 0
            while index + 1 + hashes < len(lines) and "--hash=sha256:" in lines[index + 1 + hashes]:
                hashes += 1
            marker = Marker(match[3]) if match[3] else None
            found[canonicalize_name(match[1])] = (Version(match[2]), marker, hashes)
    return found


def requirements(*extras: str) -> list[Requirement]:
    """Runtime and build-system requirements, plus those of the extras (followed through self-references)."""
    wanted = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    wanted += [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        seen.add(extra)
        for text in PYPROJECT["project"]["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == PROJECT:
                todo += [e for e in requirement.extras if e not in seen]
            else:
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))]
)
def test_every_requirement_is_met_by_a_pin(lock: str, extras: tuple[str, ...]) -> None:
    locked = pins(lock)
    unmet = []
    for requirement in requirements(*extras):
        for environment in ENVIRONMENTS:
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            pin = locked.get(canonicalize_name(requirement.name))
            applies = pin is not None and (pin[1] is None or pin[1].evaluate(environment))
            if pin is None or not applies or pin[0] not in requirement.specifier:
                unmet.append(f"{requirement} ({environment['python_version']}): {pin and pin[0]}")
    assert unmet == [], "the lock is stale: run scripts/lock.sh"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_carries_a_hash(lock: str) -> None:
    locked = pins(lock)
    assert locked, f"{lock} has no pins"
    assert [name for name, (_, _, hashes) in locked.items() if hashes == 0] == []
    assert PROJECT not in locked, "the project itself is built from source, not pinned"


def test_the_image_lock_holds_no_test_or_dev_tool() -> None:
    runtime = set(pins("requirements.lock"))
    assert runtime.isdisjoint({"pytest", "ruff", "mypy", "mkdocs", "uv", "helm-python-sdk"})


def test_the_dev_lock_holds_everything_the_image_lock_pins_at_the_same_version() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {n: v for n, (v, _, _) in runtime.items()} == {n: dev[n][0] for n in runtime if n in dev}
    assert set(runtime) <= set(dev)
