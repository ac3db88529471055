"""The channels of `notify.channels`, built at start: a bad one is a ConfigError naming its index.

A URL's label and key never hold the URL: the label is its scheme and index (`dingtalk#0`), the
key its scheme and a SHA-256 prefix (what the journal's de-duplication rows are keyed by). Every
URL, and each token-looking part of it, is registered for log masking before anything runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx

from controller.dws.credentials.base import CredentialsUnavailable
from controller.dws.credentials.secretfile import SecretFile
from controller.logs import register_secrets
from controller.notify.apprise_channel import AppriseChannel
from controller.notify.channel import Channel, DeliveryError
from controller.notify.smn import SmnChannel
from controller.settings import (
    ConfigError,
    NotifyChannel,
    Settings,
    apprise_understands,
    url_scheme,
    url_secrets,
)


def build_channels(
    settings: Settings, auth: httpx.Auth, transport: httpx.AsyncBaseTransport | None = None
) -> list[Channel]:
    """One channel per `notify.channels` entry, in order."""
    built: list[Channel] = []
    for index, spec in enumerate(settings.notify.channels):
        events = frozenset(spec.events)
        if spec.smn is not None:
            # The topic's URN names its region and project: in a fleet, not every target's.
            region, project = _urn_place(spec.smn.topic_urn) or (
                settings.region,
                settings.project_id,
            )
            endpoint = spec.smn.endpoint or f"https://smn.{region}.myhuaweicloud.com"
            built.append(
                SmnChannel(
                    f"smn#{index}",
                    events,
                    endpoint=endpoint.rstrip("/"),
                    project_id=project,
                    topic_urn=spec.smn.topic_urn,
                    auth=auth,
                    timeout=settings.request_timeout.total_seconds(),
                    transport=transport,
                )
            )
        else:
            built.append(_apprise(index, spec, events))
    return built


def _urn_place(urn: str) -> tuple[str, str] | None:
    """(region, project) of `urn:smn:REGION:PROJECT:NAME`; None for another shape."""
    parts = urn.split(":")
    if len(parts) == 5 and parts[:2] == ["urn", "smn"] and all(parts[2:]):
        return parts[2], parts[3]
    return None


def _apprise(index: int, spec: NotifyChannel, events: frozenset[str]) -> AppriseChannel:
    where = f"notify.channels.{index}"
    if spec.url_file is not None:
        url = _first_read(where, spec.url_file)
        source = _from_file(SecretFile(spec.url_file, what=f"{where}.url_file"))
    else:
        url = spec.inline_url() or ""
        if not url:
            raise ConfigError(f"{where}: environment variable {spec.url_env} is not set or empty")
        source = _constant(url)
    register_secrets(*url_secrets(url))
    scheme = url_scheme(url)
    if spec.url_file is not None and not apprise_understands(url):
        raise ConfigError(f"{where}: Apprise cannot parse the {scheme}:// URL in {spec.url_file}")
    return AppriseChannel(f"{scheme}#{index}", channel_key(url), events, source)


def channel_key(url: str) -> str:
    """The journal's name for a URL channel: its scheme and a SHA-256 prefix, never the URL."""
    return f"{url_scheme(url)}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _first_read(where: str, path: Path) -> str:
    try:
        url = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}.url_file: cannot read {path}: {exc}") from None
    if not url:
        raise ConfigError(f"{where}.url_file: {path} is empty")
    return url


def _constant(url: str) -> Callable[[], str]:
    return lambda: url


def _from_file(secret: SecretFile) -> Callable[[], str]:
    seen: set[str] = set()

    def read() -> str:
        try:
            url = secret.get_secret_value()
        except CredentialsUnavailable as exc:
            raise DeliveryError(str(exc), retryable=True) from None
        if url not in seen:  # a rotated URL is masked before it is used
            register_secrets(*url_secrets(url))
            seen.add(url)
        return url

    return read
