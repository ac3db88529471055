"""Constants and request helpers shared by the emulator tests (fixtures live in conftest.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from controller.dws import signing

START = dt.datetime(2026, 3, 4, 21, 0, tzinfo=dt.UTC)
PROJECT = "0123456789abcdef0123456789abcdef"
AK, SK = "TESTAK0000000000000", "test-sk-do-not-leak"
BASE = "http://dws.sim.local"
UUID_A = "4ca46bf1-5c61-48ff-b4f3-0ad4e5e3ba90"
UUID_B = "7d85f602-a948-4a30-afd4-e84f47471c15"


class Signer(Protocol):
    """The `signed` fixture: headers for a request signed now (by the wall clock)."""

    def __call__(self, method: str, url: str, **kwargs: Any) -> dict[str, str]: ...


def sign_headers(
    method: str,
    url: str,
    *,
    when: dt.datetime,
    ak: str = AK,
    sk: str = SK,
    body: bytes = b"",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Headers a Huawei SDK would send: Host, X-Sdk-Date, X-Project-Id and the signature."""
    parsed = httpx.URL(url)
    headers = {
        "Host": parsed.netloc.decode(),
        "X-Sdk-Date": signing.format_date(when),
        "X-Project-Id": PROJECT,
        **(extra or {}),
    }
    headers["Authorization"] = signing.sign(
        ak=ak,
        sk=sk,
        method=method,
        raw_path=parsed.raw_path.split(b"?")[0].decode(),
        params=list(parsed.params.multi_items()),
        headers=headers,
        body=body,
    )
    return headers


def clusters_url(suffix: str = "", project: str = PROJECT, base: str = BASE) -> str:
    return f"{base}/v1.0/{project}/clusters{suffix}"
