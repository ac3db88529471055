"""Where and as whom a probe connects: the configured host or the cluster's endpoint, and the password.

Fails closed: a detail answer without a usable endpoint, or a password file that cannot be read,
means no probe (ProbeUnavailable says why), never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from controller.config_types import parse_host_port, sql_endpoint  # noqa: F401 (re-exported)
from controller.logs import register_secrets
from controller.settings import ProbeSettings

#: DWS's default database port, for a configured host without a port.
DEFAULT_PORT = 8000
#: What DBAs see in pg_stat_activity for the probe's session.
APPLICATION_NAME = "dws-rebalancer-probe"


class ProbeUnavailable(Exception):
    """No probe for this switchover; the message says why and never holds a secret."""


@dataclass(frozen=True)
class Target:
    """One probe's connection: endpoint, database, role, password (masked in repr) and timings."""

    host: str
    port: int
    database: str
    user: str
    password: SecretStr = field(repr=False)
    interval: float = 1.0
    connect_timeout: float = 2.0
    statement_timeout: float = 2.0
    application_name: str = APPLICATION_NAME

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


def detail_endpoint(detail: Mapping[str, object]) -> tuple[str, int] | None:
    """The private endpoint of a cluster detail answer (or its inner object), else its public one."""
    cluster = detail.get("cluster", detail)
    return sql_endpoint(cluster) if isinstance(cluster, Mapping) else None


def choose_endpoint(
    settings: ProbeSettings,
    detail: Mapping[str, object] | None,
    listed: tuple[str, int] | None = None,
) -> tuple[str, int]:
    """The configured host (and port), or the cluster's endpoint (`listed`, as the loop parsed
    it, else from a detail answer) with any configured port."""
    if settings.host:
        return settings.host, settings.port or DEFAULT_PORT
    found = listed or (detail_endpoint(detail) if detail is not None else None)
    if found is None:
        raise ProbeUnavailable(
            "no probe.host configured and the cluster's detail answer has no usable endpoint"
        )
    return found[0], settings.port or found[1]


def read_password(
    settings: ProbeSettings, read: Callable[[Path], str] = lambda p: p.read_text("utf-8")
) -> SecretStr:
    """The inline password, or the password file's content without its trailing newline."""
    if settings.password is not None:
        register_secrets(settings.password.get_secret_value())
        return settings.password
    path = settings.password_file
    if path is None:
        raise ProbeUnavailable("probe needs probe.password or probe.password_file")
    try:
        value = read(path).rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ProbeUnavailable(f"cannot read probe.password_file {path}: {reason}") from None
    if not value:
        raise ProbeUnavailable(f"probe.password_file {path} is empty")
    register_secrets(value)  # known only now: mask it in every log line from here on
    return SecretStr(value)


def build_target(
    settings: ProbeSettings,
    detail: Mapping[str, object] | None = None,
    read: Callable[[Path], str] = lambda p: p.read_text("utf-8"),
    *,
    listed: tuple[str, int] | None = None,
) -> Target:
    """The probe target for one cluster, or ProbeUnavailable (disabled, no endpoint, no password)."""
    if not settings.enabled:
        raise ProbeUnavailable("the probe is disabled for this cluster")
    if not settings.user:
        raise ProbeUnavailable("probe needs probe.user")
    host, port = choose_endpoint(settings, detail, listed)
    return Target(
        host=host,
        port=port,
        database=settings.database,
        user=settings.user,
        password=read_password(settings, read),
        interval=settings.interval.total_seconds(),
        connect_timeout=settings.connect_timeout.total_seconds(),
        statement_timeout=settings.statement_timeout.total_seconds(),
    )
