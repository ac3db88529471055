"""The demo's people in the loop: a local webhook receiver that hears the controller, and a person who vetoes.

The receiver is a real HTTP server (`http.server`, in a thread, on 127.0.0.1) that the
controller's Apprise `json://` channel posts to; each notification is handed to the event loop as
it arrives. The person vetoes the first switchover announced for one cluster through the very
function `dws-rebalancer veto` calls, on a journal connection of their own: beside the running
controller, as a person at a terminal would.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from controller.clock import Clock
from controller.journal import Journal
from controller.loop import operator
from controller.notify.templates import EVENTS
from controller.settings import Settings, apprise_understands

PATH = "/notify"


@dataclass(frozen=True)
class Notification:
    """What Apprise's `json://` posted: `{"title": SUBJECT, "message": BODY, ...}`."""

    title: str
    message: str


@contextlib.contextmanager
def receiver(deliver: Callable[[Notification], None]) -> Iterator[str]:
    """A local webhook receiver; yields the `json://` URL for the controller's channel. `deliver`
    is called on the event loop, in arrival order."""
    loop = asyncio.get_running_loop()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            # Not JSON, or the demo already over (its loop closed): nothing to print.
            with contextlib.suppress(ValueError, AttributeError, RuntimeError):
                post = json.loads(body)
                note = Notification(str(post.get("title", "")), str(post.get("message", "")))
                loop.call_soon_threadsafe(deliver, note)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the demo prints what it heard; no access log on stderr

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-receiver", daemon=True)
    thread.start()
    try:
        url = f"json://127.0.0.1:{server.server_address[1]}{PATH}"
        # Apprise's plugins load in a second or two: now, before the demo's clock starts.
        apprise_understands(url)
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def planned_prefix(cluster: str) -> str:
    """The start of the English `planned` subject for `cluster` (the demo speaks English)."""
    subject = EVENTS["en"]["planned"][0]
    return subject.split("{at}")[0].format(cluster=cluster)


@dataclass
class Person:
    """Vetoes the first switchover announced for `cluster`, as `dws-rebalancer veto` would."""

    settings: Settings
    clock: Clock
    cluster: str
    reason: str
    actor: str = "alice"
    vetoed: bool = False

    def wants_to_veto(self, note: Notification) -> bool:
        return not self.vetoed and note.title.startswith(planned_prefix(self.cluster))

    def command(self) -> str:
        return f'dws-rebalancer veto {self.cluster} --reason "{self.reason}" --actor {self.actor}'

    async def veto(self) -> str:
        """The sentence `veto` prints, or why it was refused; in a thread, as SQLite blocks."""
        self.vetoed = True
        try:
            said = await asyncio.to_thread(self._veto)
        except operator.Refused as exc:
            return f"refused: {exc}"
        return said.sentence

    def _veto(self) -> operator.Said:
        now = self.clock.now()
        path = self.settings.journal_path
        with Journal.open(path, now=now, create=False) as journal:
            return operator.veto(
                journal, self.settings, self.cluster, now=now, by=self.actor, reason=self.reason
            )
