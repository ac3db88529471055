"""Shared constants and helpers for the DWS client tests (the emulator's world, credentials, auth)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth, IamPasswordAuth
from controller.dws.client import DwsClient

START = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
PROJECT = "0a1b2c3d4e5f40d5a7d5c2d6e7f8a9b0"
AK = "SIMAK0123456789ABCDE"
SK = "sim-SK-secret-value-0123456789"
PASSWORD = "alice-PASSWORD-secret"
UNBALANCED = "7d85f602-a948-4a30-afd4-e84f47471c15"
BALANCED = "2b1f7a10-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
BASE = "http://dws.sim"
#: Short enough that a hanging emulator costs the test little; no result depends on its length.
TIMEOUT = 0.25

ClientFactory = Callable[..., DwsClient]


def aksk(clock: ManualClock | None = None, sk: str = SK) -> AkSkAuth:
    return AkSkAuth(AK, SecretStr(sk), project_id=PROJECT, clock=clock)


def iam_auth(clock: ManualClock, endpoint: str = BASE) -> IamPasswordAuth:
    return IamPasswordAuth(endpoint, "alice", SecretStr(PASSWORD), "acme", PROJECT, clock=clock)


def raw(**fields: Any) -> dict[str, Any]:
    """A list-style cluster object with sane defaults; None removes a field."""
    base: dict[str, Any] = {
        "id": "c-1",
        "name": "dws-prod",
        "status": "AVAILABLE",
        "sub_status": "UNBALANCED",
        "task_status": "",
        "version": "8.2.1.230",
        "tags": [],
        "updated": "2026-03-01T10:00:00",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}
