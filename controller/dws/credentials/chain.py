"""Choosing the credential method: `auth.method` names one, or `auto` walks the chain.

`auto`: explicit `auth.*` keys first (settings resolve them to their method), then the vendor
SDK's default chain as huaweicloudsdkcore 3.1 orders it, with two differences (see
docs/configuration.md): the environment (OIDC variables, then AK/SK), then CCE pod identity,
then the metadata service. Pod identity comes before the metadata service here (the SDK asks
the metadata service first) because its variables are injected for this very pod, while the
metadata service speaks for the whole node; and pod identity is known from the environment, so
the choice needs no network call. The SDK's STS `assume-with-oidc` provider
(`HUAWEICLOUD_OIDC_*`) and its profile file (`~/.huaweicloud/credentials`) are not read.

A method named explicitly that cannot work is an error, never a fall-through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from controller.clock import Clock
from controller.dws.credentials import environment as env
from controller.dws.credentials.base import Credential, CredentialsError, CredentialsUnavailable
from controller.dws.credentials.flows import SecretValue
from controller.dws.credentials.metadata import MetadataCredential
from controller.dws.credentials.oidc import OidcCredential
from controller.dws.credentials.pod_identity import TOKEN_FILE_ENV, URI_ENV, PodIdentityCredential
from controller.dws.credentials.secretfile import SecretFile
from controller.dws.credentials.static import PasswordLogin, StaticAkSk, StaticToken


class AuthOptions(Protocol):
    """What the `auth` settings offer the chain (controller.settings.Auth fits)."""

    @property
    def method(self) -> str: ...
    @property
    def ak(self) -> str | None: ...
    @property
    def ak_file(self) -> Path | None: ...
    @property
    def sk(self) -> SecretStr | None: ...
    @property
    def sk_file(self) -> Path | None: ...
    @property
    def security_token(self) -> SecretStr | None: ...
    @property
    def security_token_file(self) -> Path | None: ...
    @property
    def token(self) -> SecretStr | None: ...
    @property
    def token_file(self) -> Path | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> SecretStr | None: ...
    @property
    def password_file(self) -> Path | None: ...
    @property
    def domain(self) -> str | None: ...
    @property
    def iam_endpoint(self) -> str | None: ...
    @property
    def metadata_endpoint(self) -> str: ...
    @property
    def idp_id(self) -> str | None: ...
    @property
    def id_token_file(self) -> Path | None: ...


@dataclass(frozen=True)
class Choice:
    """The credential chosen, and why (for the start-up log line)."""

    credential: Credential
    source: str  # "auth.method", "auth keys", "environment", "pod identity", "metadata service"


@dataclass(frozen=True)
class _Context:
    options: AuthOptions
    environ: Mapping[str, str]
    clock: Clock
    project_id: str
    region: str

    @property
    def iam_endpoint(self) -> str:
        return (
            self.options.iam_endpoint
            or env.env_iam_endpoint(self.environ)
            or f"https://iam.{self.region}.myhuaweicloud.com"
        )


def choose(
    options: AuthOptions,
    *,
    environ: Mapping[str, str],
    clock: Clock,
    project_id: str,
    region: str,
) -> Choice:
    """The credential for `options`; CredentialsError (one line, no secret) when none can work."""
    context = _Context(options, environ, clock, project_id, region)
    env.check_project(environ, project_id)
    try:
        choice = _choose(context)
        _check_readable(choice.credential)
    except CredentialsUnavailable as exc:  # a file named in the settings: a configuration error
        raise CredentialsError(exc.detail) from None
    return choice


def _choose(context: _Context) -> Choice:
    method = context.options.method
    if method != "auto":
        return Choice(_BUILDERS[method](context), "auth.method")
    for source, find in (
        ("environment", _from_environment),
        ("pod identity", _pod_identity_if_set),
    ):
        found = find(context)
        if found is not None:
            return Choice(found, source)
    return Choice(_metadata(context), "metadata service")


def _aksk(context: _Context) -> Credential:
    o = context.options
    ak: str | SecretValue = o.ak if o.ak else SecretFile(_need(o.ak_file), what="auth.ak_file")
    return StaticAkSk(
        ak,
        _secret(o.sk, o.sk_file, "auth.sk_file"),
        context.project_id,
        context.clock,
        security_token=_maybe(o.security_token, o.security_token_file, "auth.security_token_file"),
    )


def _token(context: _Context) -> Credential:
    return StaticToken(
        _secret(context.options.token, context.options.token_file, "auth.token_file")
    )


def _password(context: _Context) -> Credential:
    o = context.options
    return PasswordLogin(
        context.iam_endpoint,
        _need(o.username),
        _secret(o.password, o.password_file, "auth.password_file"),
        _need(o.domain),
        context.project_id,
        context.clock,
    )


def _env(context: _Context) -> Credential:
    found = _from_environment(context)
    if found is None:
        raise CredentialsError(
            f"auth.method env: neither {env.AK_ENV} and {env.SK_ENV} nor "
            f"{env.IDP_ID_ENV} and {env.ID_TOKEN_FILE_ENV} are set"
        )
    return found


def _from_environment(context: _Context) -> Credential | None:
    """OIDC from the SDK's variables (or auth.idp_id/id_token_file), else the SDK's AK/SK."""
    oidc = _oidc_if_set(context)
    if oidc is not None:
        return oidc
    keys = env.env_keys(context.environ)
    if keys is None:
        return None
    return StaticAkSk(
        keys.ak, keys.sk, context.project_id, context.clock, keys.security_token, method="env"
    )


def _oidc_if_set(context: _Context) -> Credential | None:
    env_idp, env_file = env.env_oidc(context.environ)
    idp_id = context.options.idp_id or env_idp
    token_file = context.options.id_token_file or env_file
    if not (idp_id and token_file):
        return None
    return OidcCredential(
        context.iam_endpoint, idp_id, token_file, context.project_id, context.clock
    )


def _oidc(context: _Context) -> Credential:
    found = _oidc_if_set(context)
    if found is None:
        raise CredentialsError(
            f"auth.method oidc needs auth.idp_id (or {env.IDP_ID_ENV}) and "
            f"auth.id_token_file (or {env.ID_TOKEN_FILE_ENV})"
        )
    return found


def _pod_identity_if_set(context: _Context) -> Credential | None:
    uri = context.environ.get(URI_ENV, "").strip()
    token_file = context.environ.get(TOKEN_FILE_ENV, "").strip()
    if not (uri and token_file):
        return None
    return PodIdentityCredential(uri, Path(token_file), context.project_id, context.clock)


def _pod_identity(context: _Context) -> Credential:
    found = _pod_identity_if_set(context)
    if found is None:
        raise CredentialsError(f"auth.method pod_identity needs {URI_ENV} and {TOKEN_FILE_ENV}")
    return found


def _metadata(context: _Context) -> Credential:
    return MetadataCredential(context.options.metadata_endpoint, context.project_id, context.clock)


_BUILDERS = {
    "aksk": _aksk,
    "token": _token,
    "password": _password,
    "env": _env,
    "oidc": _oidc,
    "pod_identity": _pod_identity,
    "metadata": _metadata,
}


def _need(value: str | Path | None) -> str:
    if value is None:  # settings validated the combination: this is a caller's bug
        raise CredentialsError("incomplete auth settings")
    return str(value)


def _secret(inline: SecretStr | None, path: Path | None, key: str) -> SecretValue:
    found = _maybe(inline, path, key)
    if found is None:
        raise CredentialsError(f"{key.removesuffix('_file')} or {key} is needed")
    return found


def _maybe(inline: SecretStr | None, path: Path | None, key: str) -> SecretValue | None:
    if inline is not None and inline.get_secret_value():
        return inline
    return SecretFile(path, what=key) if path is not None else None


def _check_readable(credential: Credential) -> None:
    """Read every file the credential names now, so a wrong path stops the start (exit 2)."""
    for value in vars(credential).values():
        if isinstance(value, SecretFile):
            value.get_secret_value()
    for name in ("id_token_file", "token_file"):
        path = getattr(credential, name, None)
        if isinstance(path, Path):
            SecretFile(path, what=name.replace("_", " ")).get_secret_value()
