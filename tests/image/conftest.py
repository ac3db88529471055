"""Fixtures for the image tests: one real release (podman build + chart package) per session, the image mounted read-only; cleaned up after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from imagekit import (
    MountedImage,
    Release,
    make_base_image,
    make_wheelhouse,
    missing_prerequisites,
    mount,
    release,
    unmount_and_remove,
)

import controller


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    if problems := missing_prerequisites():
        message = "the image build needs root, podman and debootstrap: " + "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI installs all of them: a missing one is a broken CI set-up
        pytest.skip(message)
    # A repository of its own: the release tags it <repository>:<version>, removed afterwards.
    repository = f"localhost/dws-rebalancer-e2e-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("release")
    base = make_base_image(work / "base-image.ref")
    wheelhouse = make_wheelhouse(work / "wheelhouse")
    try:
        yield release(
            repository=repository,
            chart_name="dws-rebalancer-e2e",
            base=base,
            wheelhouse=wheelhouse,
            out=work / "dist",
        )
    finally:
        unmount_and_remove(f"{repository}:{controller.__version__}")


@pytest.fixture(scope="session")
def image(built: Release) -> MountedImage:
    return mount(built.image)
