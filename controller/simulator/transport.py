"""In-process httpx transport for the emulator that fails the way a real socket would.

`httpx.ASGITransport` turns the app's deliberate connection drop into a Python exception and
has no read timeout; this wrapper makes them `httpx.RemoteProtocolError` and `httpx.ReadTimeout`
(honouring the request's `timeout` extension), so client code sees what it would over TCP.
"""

from __future__ import annotations

import asyncio

import httpx

from controller.simulator.app import PARTIAL_BODY, PROMISED_LENGTH, ASGIApp
from controller.simulator.faults import ConnectionDropped


class SimulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        try:
            async with asyncio.timeout(read_timeout):
                return await self._asgi.handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the emulator", request=request) from None
        except ConnectionDropped:
            # The words httpcore uses when uvicorn closes the socket mid-body.
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                f"(received {len(PARTIAL_BODY)} bytes, expected {PROMISED_LENGTH})",
                request=request,
            ) from None

    async def aclose(self) -> None:
        await self._asgi.aclose()
