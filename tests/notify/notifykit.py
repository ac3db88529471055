"""Real parts for the notification tests: a local webhook receiver, dead ports, the emulator's SMN."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
AK, SK = "NOTIFYAK0123456789AB", "notify-sk-do-not-leak-0123"
TOPIC = f"urn:smn:cn-north-4:{PROJECT}:dws-ops"
#: A token that must never show up anywhere but the receiver's path.
TOKEN = "tok3n5ecret0123456789abcdef"


@dataclass
class Receiver:
    """A json:// webhook on 127.0.0.1: every POST body it got, decoded, with its path."""

    url: str
    port: int
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    got: threading.Event = field(default_factory=threading.Event)

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.posts]


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    """A real HTTP server (http.server in a thread) on a free port of 127.0.0.1."""
    box: list[Receiver] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            box[0].posts.append((self.path, body))
            self.send_response(box[0].status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            box[0].got.set()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    box.append(Receiver(f"http://127.0.0.1:{port}", port))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung webhook)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def refused_port() -> int:
    """A port nothing listens on: connections are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
