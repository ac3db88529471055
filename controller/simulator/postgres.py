"""A real PostgreSQL standing in for a DWS cluster's SQL endpoint: initdb'd in a temp dir, run by a
non-root user, on 127.0.0.1, for the data-plane probe's tests and the demo.

A probe role logs in with a password over TCP (scram-sha-256 in pg_hba.conf) and may only
CONNECT to its database, as docs/probe.md tells DWS users to set it up.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The Debian packages that provide the server binaries (CI installs the first).
DEBIAN_PACKAGES = "postgresql (or postgresql-15)"
#: Who runs the server when the tests run as root (initdb and postgres refuse root).
RUN_AS = "nobody"
DATABASE = "gaussdb"
PROBE_USER = "dws_probe"


@dataclass(frozen=True)
class PgServer:
    """A running server: where it listens and the probe role's credentials."""

    host: str
    port: int
    database: str
    user: str
    password: str
    socket_dir: str  # the superuser `postgres` connects here without a password

    @property
    def admin(self) -> dict[str, object]:
        """Connection parameters for the superuser, over the Unix socket."""
        return {
            "host": self.socket_dir,
            "port": self.port,
            "user": "postgres",
            "dbname": "postgres",
        }


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin with initdb, pg_ctl and psql, or PG_BINDIR."""
    candidates = [Path(os.environ["PG_BINDIR"])] if os.environ.get("PG_BINDIR") else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    for bindir in [*candidates, *versions]:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "psql", "postgres")):
            return bindir
    return None


def _version(path: Path) -> float:
    try:
        return float(path.parent.name)
    except ValueError:
        return 0.0


def unavailable_reason() -> str | None:
    """Why a real PostgreSQL cannot run here, or None."""
    if find_bindir() is None:
        return (
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
            f"(Debian package {DEBIAN_PACKAGES}); set PG_BINDIR to use others"
        )
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root but runuser(1) is missing to start PostgreSQL as non-root"
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root but there is no user {RUN_AS!r} to run PostgreSQL as"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(  # noqa: S603 (our own argv: the PostgreSQL tools, no shell)
        _as_owner(argv), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")


def _own_dir() -> Path:
    """A temp dir the server's user owns (root's pytest dirs are closed to others)."""
    path = Path(tempfile.mkdtemp(prefix="dws-probe-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(RUN_AS)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def _setup_sql(password: str) -> str:
    # the password is a random token: URL-safe characters, nothing to escape in a literal
    return (
        f"CREATE ROLE {PROBE_USER} LOGIN PASSWORD '{password}';\n"
        f"CREATE DATABASE {DATABASE};\n"
        f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC;\n"
        f"GRANT CONNECT ON DATABASE {DATABASE} TO {PROBE_USER};\n"
    )


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    """initdb, start on a free port, create the probe role; stop and remove everything after."""
    bindir = find_bindir()
    assert bindir is not None
    root = _own_dir()
    data, port, password = root / "data", free_port(), secrets.token_urlsafe(18)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "scram-sha-256",
             "--auth-local=trust", "--no-sync"],
            root,
        )  # fmt: skip
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
              "-w", "-t", "60", "start"], root)  # fmt: skip
        sql = root / "setup.sql"
        sql.write_text(_setup_sql(password), encoding="utf-8")
        sql.chmod(0o644)
        _run([str(bindir / "psql"), "-h", str(root), "-p", str(port), "-U", "postgres",
              "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(sql)], root)  # fmt: skip
        yield PgServer("127.0.0.1", port, DATABASE, PROBE_USER, password, str(root))
    finally:
        if (data / "postmaster.pid").exists():
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], root)
        shutil.rmtree(root, ignore_errors=True)
