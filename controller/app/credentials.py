"""From the `auth` settings to a credential and its httpx.Auth: choose the method, say which.

The one place that reads the settings for the credentials: `controller/dws/` knows nothing of
the settings, and each method (`controller.dws.credentials`) knows only its own values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog

from controller.clock import Clock
from controller.dws.credentials.base import Credential, CredentialsError
from controller.dws.credentials.chain import choose
from controller.logs import register_secrets
from controller.settings import ConfigError, Settings

if TYPE_CHECKING:  # the flow's type only: the app itself speaks no HTTP
    import httpx

log = structlog.get_logger(__name__)


def credential_from_settings(
    settings: Settings, clock: Clock, environ: Mapping[str, str] | None = None
) -> Credential:
    """The credential method `settings.auth` asks for; ConfigError when it cannot work.

    `environ` (default: the process environment) holds the vendor SDK's variables. The choice
    is logged with its facts, never a secret; secrets found outside the settings are registered
    for masking.
    """
    try:
        choice = choose(
            settings.auth,
            environ=os.environ if environ is None else environ,
            clock=clock,
            project_id=settings.project_id,
            region=settings.region,
        )
    except CredentialsError as exc:
        raise ConfigError(str(exc)) from None
    credential = choice.credential
    # The settings' own secrets are registered by the command line; these came from elsewhere
    # (the vendor SDK's environment variables).
    known = set(settings.auth.secret_values())
    register_secrets(*(v for v in credential.secret_values() if v not in known))
    log.info(
        "credentials_chosen",
        method=credential.method,
        source=choice.source,
        **credential.describe(),
    )
    return credential


def auth_from_settings(
    settings: Settings, clock: Clock, environ: Mapping[str, str] | None = None
) -> httpx.Auth:
    """The auth flow for the configured credentials."""
    return credential_from_settings(settings, clock, environ).auth()
