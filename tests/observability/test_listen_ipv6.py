"""Listening on `[::]`: one dual-stack socket answers IPv4 and IPv6 clients; without IPv6 it falls back to IPv4."""

from __future__ import annotations

import socket

import httpx
import pytest
from obskit import StaticStatus
from structlog.testing import capture_logs

from controller.http import server as http_server
from controller.http.server import HttpServer, create_app
from controller.record.metrics import Metrics

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not socket.has_dualstack_ipv6(), reason="this host has no IPv6"),
]


async def _healthz(url: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(url)).status_code


@pytest.mark.parametrize("host", ["[::]", "::"], ids=["bracketed", "bare"])
async def test_any_ipv6_address_serves_ipv4_and_ipv6_clients(host: str) -> None:
    # settings.listen_host hands the server the host as written ("[::]" from "[::]:9108")
    server = HttpServer(create_app(Metrics(), StaticStatus()), host, 0)
    await server.start()
    try:
        assert await _healthz(f"http://127.0.0.1:{server.port}/healthz") == 200
        assert await _healthz(f"http://[::1]:{server.port}/healthz") == 200
    finally:
        await server.stop()


async def test_ipv6_loopback_serves_ipv6_only() -> None:
    server = HttpServer(create_app(Metrics(), StaticStatus()), "[::1]", 0)
    await server.start()
    try:
        assert await _healthz(f"http://[::1]:{server.port}/healthz") == 200
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", server.port), timeout=5),
        ):
            pass
    finally:
        await server.stop()


async def test_without_ipv6_the_any_address_falls_back_to_ipv4(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A node booted with ipv6.disable=1 cannot open an AF_INET6 socket at all.
    monkeypatch.setattr(http_server.socket, "has_dualstack_ipv6", lambda: False)
    server = HttpServer(create_app(Metrics(), StaticStatus()), "[::]", 0)
    with capture_logs() as logs:
        await server.start()
    try:
        assert await _healthz(f"http://127.0.0.1:{server.port}/healthz") == 200
        assert {"event": "ipv6_unavailable", "log_level": "warning"}.items() <= logs[0].items()
        assert logs[0]["listening_on"] == f"0.0.0.0:{server.port}"
    finally:
        await server.stop()


async def test_a_busy_ipv6_port_names_the_address() -> None:
    with socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True) as taken:
        port = taken.getsockname()[1]
        server = HttpServer(create_app(Metrics(), StaticStatus()), "[::]", port)
        with pytest.raises(OSError, match=f"cannot listen on :::{port}"):
            await server.start()
