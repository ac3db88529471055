"""Helpers for the credentials tests: an RSA identity provider (JWKS + RS256 JWTs) and identity specs.

The signing side uses `cryptography` (a test dependency); the emulator verifies on its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from controller.simulator.identity import (
    FederationSpec,
    IdentitySpec,
    MetadataSpec,
    PodIdentitySpec,
)

ISSUER = "https://oidc.cce.example/id/c0ffee"
AUDIENCE = "dws-rebalancer-test-audience"
IDP_ID = "cce-workload-idp"
SUBJECT = "system:serviceaccount:dws:dws-rebalancer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass
class IdentityProvider:
    """A Kubernetes-like OIDC issuer: one RSA key, its JWKS, and tokens it signs."""

    key: rsa.RSAPrivateKey
    kid: str = "k1"

    @classmethod
    def new(cls, kid: str = "k1") -> IdentityProvider:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)

    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": b64url(_int_bytes(numbers.n)),
            "e": b64url(_int_bytes(numbers.e)),
        }

    def token(
        self,
        now: dt.datetime,
        *,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """An RS256 JWT issued at `now`; keyword claims override the defaults."""
        body = {
            "iss": ISSUER,
            "aud": [AUDIENCE],
            "sub": SUBJECT,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            **claims,
        }
        head = header or {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(body).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


def federation(idp: IdentityProvider, **fields: Any) -> FederationSpec:
    values: dict[str, Any] = {
        "idp_id": IDP_ID,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks": {"keys": [idp.jwk()]},
        **fields,
    }
    return FederationSpec.model_validate(values)


def identity(
    *,
    metadata: dict[str, Any] | None = None,
    federation_spec: FederationSpec | None = None,
    pod_token: str | None = None,
) -> IdentitySpec:
    return IdentitySpec(
        metadata=MetadataSpec.model_validate(metadata) if metadata is not None else None,
        federation=federation_spec,
        pod_identity=PodIdentitySpec.model_validate({"token": pod_token}) if pod_token else None,
    )
