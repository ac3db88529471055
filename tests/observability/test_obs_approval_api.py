"""`POST /approve/{cluster}` and `/veto/{cluster}` over a real socket: 404 off, 401 without the token, 200."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from controller.clock import ManualClock
from controller.http.approvals import approval_endpoints
from controller.http.server import HttpServer, create_app
from controller.journal import ApprovalKind, Journal
from controller.model import Action, Decision, Reason
from controller.record.metrics import Metrics
from controller.settings import ConfigError, Settings

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
TOKEN = "approval-token-never-logged-7f3a"


class Nothing:
    def health(self) -> tuple[bool, str]:
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        return True, "ok"

    def status(self) -> dict[str, Any]:
        return {}


def settings(tmp_path: Path, **api: Any) -> Settings:
    return Settings(
        endpoint="http://dws.test",
        project_id="p",
        auth={"ak": "AK", "sk": "SK"},
        journal_path=tmp_path / "journal.db",
        policy={"approval": "manual"},
        approval_api=api,
    )


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    with Journal.open(tmp_path / "journal.db", now=NOW) as opened:
        opened.record_decision(
            Decision("c-1", "sales", Action.BLOCKED, Reason.AWAITING_APPROVAL, "", NOW)
        )
        yield opened


async def serve(config: Settings, journal: Journal) -> HttpServer:
    approvals = approval_endpoints(config, journal, ManualClock(NOW))
    server = HttpServer(create_app(Metrics(), Nothing(), approvals), "127.0.0.1", 0)
    await server.start()
    return server


async def post(server: HttpServer, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        return await client.post(path, **kwargs)


async def test_off_by_default_the_routes_do_not_exist(tmp_path: Path, journal: Journal) -> None:
    server = await serve(settings(tmp_path), journal)
    try:
        answer = await post(server, "/approve/sales", headers={"authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 404
    finally:
        await server.stop()
    assert journal.approval_entries() == []


async def test_bearer_token_then_approve_and_veto(tmp_path: Path, journal: Journal) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    server = await serve(settings(tmp_path, enabled=True, token_file=token_file), journal)
    good = {"authorization": f"Bearer {TOKEN}"}
    try:
        with structlog.testing.capture_logs() as logs:
            assert (await post(server, "/approve/sales")).status_code == 401
            wrong = {"authorization": "Bearer nope"}
            assert (await post(server, "/approve/sales", headers=wrong)).status_code == 401
            assert (await post(server, "/approve/nope", headers=good)).status_code == 404
            bad = await post(server, "/approve/sales", headers=good, json={"until": "soon"})
            assert bad.status_code == 400
            past = await post(
                server, "/veto/sales", headers=good, json={"until": "2020-01-01T00:00Z"}
            )
            assert past.status_code == 400
            assert (await post(server, "/veto/sales", headers=good)).status_code == 409
            approved = await post(
                server, "/approve/c-1", headers=good, json={"until": "2h", "actor": "alice"}
            )
            vetoed = await post(
                server, "/veto/sales", headers=good, json={"until": "3h", "reason": "close"}
            )
            assert (await server_get(server, "/approve/sales")).status_code == 405
    finally:
        await server.stop()
    assert approved.status_code == 200, approved.text
    assert approved.json()["until"] == (NOW + dt.timedelta(hours=2)).isoformat()
    assert vetoed.status_code == 200
    rows = [(r.kind, r.by, r.reason) for r in journal.approval_entries()]
    assert rows == [(ApprovalKind.APPROVAL, "alice", None), (ApprovalKind.VETO, "api", "close")]
    assert logs, "what was recorded is logged"
    assert TOKEN not in repr(logs)
    assert TOKEN not in approved.text + vetoed.text


async def server_get(server: HttpServer, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        return await client.get(path)


def test_an_enabled_api_needs_a_token(tmp_path: Path, journal: Journal) -> None:
    with pytest.raises(ValueError, match=r"needs approval_api\.token or token_file"):
        settings(tmp_path, enabled=True)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="non-empty token"):
        approval_endpoints(
            settings(tmp_path, enabled=True, token_file=empty), journal, ManualClock(NOW)
        )
