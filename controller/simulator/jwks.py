"""RS256 JWT verification against a JWKS, for the emulated IAM identity provider (RFC 7515/7517/7518).

RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 8.2.2) needs only modular exponentiation and a
hash, so the emulator verifies without a cryptography library. It checks what IAM checks: the
signature by the key the header's `kid` names, the issuer, the audience, `exp` and `nbf`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: DER prefix of a SHA-256 DigestInfo (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class InvalidJwt(Exception):
    """The ID token is refused; the message says why (never the token itself)."""


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: Python's decoder would skip stray characters."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidJwt("the ID token is not base64url-encoded")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_part(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(text))
    except ValueError:
        raise InvalidJwt(f"the ID token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidJwt(f"the ID token's {what} is not a JSON object")
    return value


def _key_int(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidJwt(f"JWKS key {jwk.get('kid')!r} has no {name}")
    return int.from_bytes(b64url_decode(value), "big")


def rs256_valid(signing_input: bytes, signature: bytes, jwk: Mapping[str, Any]) -> bool:
    """True when `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature by `jwk`."""
    n, e = _key_int(jwk, "n"), _key_int(jwk, "e")
    k = (n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if len(signature) != k or s >= n:
        return False
    encoded = pow(s, e, n).to_bytes(k, "big")
    digest = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    padding = k - len(digest) - 3
    expected = b"\x00\x01" + b"\xff" * padding + b"\x00" + digest
    return padding >= 8 and hmac.compare_digest(encoded, expected)


def verify(
    token: str,
    jwks: Sequence[Mapping[str, Any]],
    *,
    issuer: str,
    audience: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """The claims of `token` if IAM would accept it; else InvalidJwt saying what is wrong."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidJwt("the ID token is not a JWT (three dot-separated parts)")
    header, claims = _json_part(parts[0], "header"), _json_part(parts[1], "payload")
    if header.get("alg") != "RS256":
        raise InvalidJwt(f"the ID token's algorithm {header.get('alg')!r} is not RS256")
    keys = [k for k in jwks if k.get("kid") == header.get("kid") and k.get("kty") == "RSA"]
    if not keys:
        raise InvalidJwt(f"no key {header.get('kid')!r} in the identity provider's JWKS")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if not rs256_valid(signing_input, b64url_decode(parts[2]), keys[0]):
        raise InvalidJwt("the ID token's signature does not verify")
    _check_claims(claims, issuer=issuer, audience=audience, now=now)
    return claims


def _check_claims(
    claims: Mapping[str, Any], *, issuer: str, audience: str, now: dt.datetime
) -> None:
    if claims.get("iss") != issuer:
        raise InvalidJwt(f"the ID token's issuer {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise InvalidJwt(f"the ID token's audience {aud!r} does not include {audience!r}")
    stamp = now.timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or exp <= stamp:
        raise InvalidJwt("the ID token has expired (or has no exp)")
    if not isinstance(nbf, int | float) or nbf > stamp:
        raise InvalidJwt("the ID token is not valid yet (nbf)")
