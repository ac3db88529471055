"""Static credentials: AK/SK (optionally temporary), an IAM token, an IAM password; inline or from files.

A value from a file is a `SecretFile`: re-read when the file changes, so a rotated Secret is
used from the next request on, without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from controller.clock import Clock
from controller.dws.credentials.flows import (
    AkSkAuth,
    IamPasswordAuth,
    SecretValue,
    StaticTokenAuth,
)
from controller.dws.credentials.secretfile import SecretFile


def _inline(*values: str | SecretValue | None) -> list[str]:
    """The values known now: inline ones (a file's are registered when read)."""
    plain = [
        v if isinstance(v, str) else v.get_secret_value()
        for v in values
        if v is not None and not isinstance(v, SecretFile)
    ]
    return [v for v in plain if v]


def _where(value: str | SecretValue) -> str:
    return f"file {value.path}" if isinstance(value, SecretFile) else "inline"


@dataclass(frozen=True)
class StaticAkSk:
    """AK/SK, with a security token when they are temporary; `method` says where they came from."""

    ak: str | SecretValue
    sk: SecretValue
    project_id: str | None
    clock: Clock
    security_token: SecretValue | None = None
    method: str = "aksk"

    def describe(self) -> dict[str, str]:
        facts = {"sk": _where(self.sk), "temporary": str(self.security_token is not None).lower()}
        return facts if isinstance(self.ak, str) else {**facts, "ak": _where(self.ak)}

    def secret_values(self) -> list[str]:
        return _inline(self.ak, self.sk, self.security_token)

    def auth(self) -> httpx.Auth:
        return AkSkAuth(
            self.ak,
            self.sk,
            project_id=self.project_id,
            security_token=self.security_token,
            clock=self.clock,
        )


@dataclass(frozen=True)
class StaticToken:
    """A ready-made IAM token (it expires on its own schedule; a file may bring the next one)."""

    token: SecretValue
    method: str = "token"

    def describe(self) -> dict[str, str]:
        return {"token": _where(self.token)}

    def secret_values(self) -> list[str]:
        return _inline(self.token)

    def auth(self) -> httpx.Auth:
        return StaticTokenAuth(self.token)


@dataclass(frozen=True)
class PasswordLogin:
    """An IAM user's password, exchanged for a project-scoped token and renewed before expiry."""

    iam_endpoint: str
    username: str
    password: SecretValue
    domain: str
    project_id: str
    clock: Clock
    method: str = "password"

    def describe(self) -> dict[str, str]:
        return {
            "iam_endpoint": self.iam_endpoint,
            "username": self.username,
            "domain": self.domain,
            "password": _where(self.password),
        }

    def secret_values(self) -> list[str]:
        return _inline(self.password)

    def auth(self) -> httpx.Auth:
        return IamPasswordAuth(
            self.iam_endpoint,
            self.username,
            self.password,
            self.domain,
            self.project_id,
            clock=self.clock,
        )
