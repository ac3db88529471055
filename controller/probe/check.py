"""One probe attempt: a TCP connect to the endpoint, then `SELECT 1` on a connection kept while it works.

Every wait has a client-side deadline. A query that outlives its deadline is abandoned by closing
the socket first: psycopg's own cancellation would open another connection to send a cancel
request and wait seconds for it, exactly when the network is the thing that is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass

import psycopg

from controller.probe.endpoint import Target
from controller.probe.summary import Kind

#: Phrases of libpq's connection errors and the kind of failure each one means.
_KIND_PHRASES: tuple[tuple[str, Kind], ...] = (
    ("password authentication failed", "auth"),
    ("authentication failed", "auth"),
    ("no pg_hba.conf entry", "auth"),
    ("permission denied", "auth"),
    ("does not exist", "auth"),  # role or database: the probe's configuration, not the network
    ("connection refused", "refused"),
    ("timeout expired", "timeout"),
    ("timed out", "timeout"),
)


class ProbeFailure(Exception):
    """An attempt failed: `kind` classifies it, the message is one line without secrets."""

    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind: Kind = kind


class _ConnectionLost(ProbeFailure):
    """The session died under a query; for a kept one (killed by the outage) worth one fresh try."""

    def __init__(self, message: str) -> None:
        super().__init__("other", message)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    kind: Kind | None = None
    error: str | None = None


def classify(error: psycopg.Error) -> Kind:
    """refused / timeout / auth / other, from a psycopg error."""
    if isinstance(error, psycopg.errors.ConnectionTimeout | psycopg.errors.QueryCanceled):
        return "timeout"
    text = str(error).lower()
    return next((kind for phrase, kind in _KIND_PHRASES if phrase in text), "other")


def first_line(error: BaseException, secret: str) -> str:
    """The error's first line (libpq adds hints below it), the password masked if ever present."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line.replace(secret, "[REDACTED]") if secret else line


class SqlCheck:
    """The probe's connection to one target, reused while it works and replaced when it fails."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self.connects = 0  # new connections opened: a DBA's question, and the tests'

    def __repr__(self) -> str:
        return f"SqlCheck({self.target})"

    async def attempt(self) -> Outcome:
        """One sample's worth of checking; never raises except on cancellation."""
        try:
            await self._tcp()
            await self._query()
        except ProbeFailure as failure:
            secret = self.target.password.get_secret_value()
            return Outcome(False, failure.kind, first_line(failure, secret))
        return Outcome(True)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), self.target.connect_timeout)

    async def _tcp(self) -> None:
        # A plain connect, apart from the SQL session: are *new* connections accepted right now?
        try:
            async with asyncio.timeout(self.target.connect_timeout):
                _, writer = await asyncio.open_connection(self.target.host, self.target.port)
        except TimeoutError:
            raise ProbeFailure("timeout", "TCP connect timed out") from None
        except ConnectionRefusedError:
            raise ProbeFailure("refused", "TCP connect refused") from None
        except OSError as exc:
            raise ProbeFailure("other", f"TCP connect failed: {exc.strerror or exc}") from None
        writer.close()

    async def _query(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            try:
                await self._select(conn)
                return
            except _ConnectionLost:
                await self.close()  # a stale session from before: one fresh try in this attempt
        await self._select(await self._connect())

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        await self.close()
        target = self.target
        try:
            async with asyncio.timeout(target.connect_timeout):
                conn = await psycopg.AsyncConnection.connect(
                    host=target.host,
                    port=target.port,
                    dbname=target.database,
                    user=target.user,
                    password=target.password.get_secret_value(),
                    application_name=target.application_name,
                    # libpq's own limit, whole seconds and at least 2; ours above is exact
                    connect_timeout=max(2, math.ceil(target.connect_timeout)),
                    options=f"-c statement_timeout={max(1, int(target.statement_timeout * 1000))}",
                    autocommit=True,
                )
        except TimeoutError:
            raise ProbeFailure("timeout", "connect timed out") from None
        except psycopg.Error as exc:
            raise ProbeFailure(classify(exc), first_line(exc, "")) from None
        self._conn, self.connects = conn, self.connects + 1
        return conn

    async def _select(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        task = asyncio.ensure_future(_select_one(conn))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.target.statement_timeout)
        except asyncio.CancelledError:
            await self._abandon(conn, task)
            raise
        if not done:
            await self._abandon(conn, task)
            raise ProbeFailure("timeout", "SELECT 1 got no answer in time")
        try:
            task.result()
        except psycopg.errors.QueryCanceled:
            raise ProbeFailure("timeout", "SELECT 1 hit the statement timeout") from None
        except psycopg.Error as exc:
            lost = conn.closed or conn.broken
            await self.close()
            if lost:
                raise _ConnectionLost(first_line(exc, "")) from None
            raise ProbeFailure(classify(exc), first_line(exc, "")) from None

    async def _abandon(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], task: asyncio.Future[None]
    ) -> None:
        """Close the socket under a hung query, then let the query's task end."""
        self._conn = None
        conn.pgconn.finish()  # not ACTIVE any more: psycopg will not try to send a cancel
        task.add_done_callback(_retrieve)
        task.cancel()
        # a plain wait: a cancellation of our own (stop) still goes through
        await asyncio.wait({task})


async def _select_one(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    cursor = await conn.execute("SELECT 1")
    row = await cursor.fetchone()
    if row != (1,):
        raise psycopg.DataError(f"SELECT 1 answered {row!r}")


def _retrieve(task: asyncio.Future[None]) -> None:
    """Consume an abandoned query's outcome, so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()
