"""Fixtures for the probe tests: one real PostgreSQL per module, skipped cleanly where absent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.simulator.postgres import PgServer, running_server, unavailable_reason


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with running_server() as server:
        yield server
