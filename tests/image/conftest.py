"""Fixtures for the image tests: one real podman build per session, mounted read-only; cleaned up after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from imagekit import (
    MountedImage,
    build_image,
    make_base_image,
    make_wheelhouse,
    missing_prerequisites,
    mount,
    unmount_and_remove,
)


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MountedImage]:
    if problems := missing_prerequisites():
        message = "the image build needs root, podman and debootstrap: " + "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI installs all of them: a missing one is a broken CI set-up
        pytest.skip(message)
    tag = f"localhost/dws-rebalancer:e2e-{uuid.uuid4().hex[:8]}"
    base = make_base_image()
    wheelhouse = make_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
    try:
        build_image(tag, base, wheelhouse)
        yield mount(tag)
    finally:
        unmount_and_remove(tag)
