"""Fixtures of the notification tests: socket tests talk to 127.0.0.1 directly, past any proxy."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
