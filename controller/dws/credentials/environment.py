"""Credentials from the environment, in the vendor SDK's variable names (huaweicloudsdkcore's EnvCredentialProvider).

`HUAWEICLOUD_SDK_IDP_ID` + `HUAWEICLOUD_SDK_ID_TOKEN_FILE` (OIDC federation) win over
`HUAWEICLOUD_SDK_AK` + `HUAWEICLOUD_SDK_SK` (+ `HUAWEICLOUD_SDK_SECURITY_TOKEN`), as there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from controller.dws.credentials.base import CredentialsError

AK_ENV = "HUAWEICLOUD_SDK_AK"
SK_ENV = "HUAWEICLOUD_SDK_SK"
SECURITY_TOKEN_ENV = "HUAWEICLOUD_SDK_SECURITY_TOKEN"  # noqa: S105 - a variable's name
PROJECT_ID_ENV = "HUAWEICLOUD_SDK_PROJECT_ID"
IDP_ID_ENV = "HUAWEICLOUD_SDK_IDP_ID"
ID_TOKEN_FILE_ENV = "HUAWEICLOUD_SDK_ID_TOKEN_FILE"  # noqa: S105
IAM_ENDPOINT_ENV = "HUAWEICLOUD_SDK_IAM_ENDPOINT"


@dataclass(frozen=True)
class EnvKeys:
    """AK/SK (and a security token) found in the environment."""

    ak: str
    sk: SecretStr
    security_token: SecretStr | None


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def env_keys(environ: Mapping[str, str]) -> EnvKeys | None:
    """The SDK's AK/SK variables, or None when either is missing."""
    ak, sk = _get(environ, AK_ENV), _get(environ, SK_ENV)
    if not (ak and sk):
        return None
    token = _get(environ, SECURITY_TOKEN_ENV)
    return EnvKeys(ak, SecretStr(sk), SecretStr(token) if token else None)


def env_oidc(environ: Mapping[str, str]) -> tuple[str | None, Path | None]:
    """The SDK's identity provider id and ID token file (either may be missing)."""
    token_file = _get(environ, ID_TOKEN_FILE_ENV)
    return _get(environ, IDP_ID_ENV), Path(token_file) if token_file else None


def env_iam_endpoint(environ: Mapping[str, str]) -> str | None:
    value = _get(environ, IAM_ENDPOINT_ENV)
    return value.rstrip("/") if value else None


def check_project(environ: Mapping[str, str], project_id: str) -> None:
    """CredentialsError when the SDK's project variable names another project than ours."""
    theirs = _get(environ, PROJECT_ID_ENV)
    if theirs is not None and theirs != project_id:
        raise CredentialsError(
            f"{PROJECT_ID_ENV} is {theirs!r} but project_id is {project_id!r}: "
            "the controller works on one project"
        )
