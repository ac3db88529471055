"""Fixtures for the chart tests: every ci/*-values.yaml set, rendered once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chartkit import CI_VALUES, ci_values, objects, render


@pytest.fixture(scope="session", params=CI_VALUES, ids=[p.stem for p in CI_VALUES])
def ci_path(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture(scope="session")
def ci_rendered(ci_path: Path) -> dict[str, str]:
    return render(ci_values(ci_path))


@pytest.fixture(scope="session")
def ci_objects(ci_rendered: dict[str, str]) -> list[dict[str, Any]]:
    return objects(ci_rendered)
