"""Huawei Cloud `SDK-HMAC-SHA256` request signing, as pure functions of the request's parts.

Used by the client (to sign) and by the emulator (to verify). The vendor's
`huaweicloudsdkcore.signer.signer.Signer` is the reference; tests compare byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)$"
)


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding with only `~` (and unreserved characters) left alone."""
    return quote(text, safe="~")


def format_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime(DATE_FORMAT)


def parse_date(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, DATE_FORMAT).replace(tzinfo=dt.UTC)


def canonical_uri(raw_path: str) -> str:
    """Each path segment decoded then re-encoded; always ends in `/`."""
    path = "/".join(_encode(segment) for segment in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Decoded (key, value) pairs sorted as pairs, then each side encoded: repeated keys stay."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params))


def signable_header(name: str) -> bool:
    # The vendor signer skips headers with `_` in the name: gateways drop them.
    return "_" not in name


def canonical_headers(headers: Mapping[str, str], signed: list[str]) -> str:
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    return "".join(f"{name}:{lowered[name]}\n" for name in signed)


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256


def canonical_request(
    method: str,
    raw_path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes,
) -> str:
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(params),
            canonical_headers(headers, signed),
            ";".join(signed),
            body_hash(body),
        )
    )


def string_to_sign(sdk_date: str, canonical: str) -> str:
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(sk: str, to_sign: str) -> str:
    return hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(ak: str, signed: list[str], sig: str) -> str:
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed)}, Signature={sig}"


def sign(
    *,
    ak: str,
    sk: str,
    method: str,
    raw_path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The Authorization header value for a request whose headers already include Host and X-Sdk-Date.

    Every header given is signed except those with `_` in the name.
    """
    signed = sorted(k.lower() for k in headers if signable_header(k))
    canonical = canonical_request(method, raw_path, params, headers, signed, body)
    return authorization(
        ak, signed, signature(sk, string_to_sign(headers_get(headers, DATE_HEADER), canonical))
    )


def headers_get(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    raise KeyError(name)


@dataclass(frozen=True)
class ParsedAuthorization:
    ak: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization:
    match = _AUTH_RE.match(value.strip())
    if not match:
        raise ValueError("Authorization is not an SDK-HMAC-SHA256 signature")
    return ParsedAuthorization(
        ak=match["ak"],
        signed_headers=match["signed"].split(";"),
        signature=match["signature"].lower(),
    )


def verify(
    *,
    sk: str,
    parsed: ParsedAuthorization,
    method: str,
    raw_path: str,
    params: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> bool:
    """Recompute the signature over the headers the client says it signed; constant-time compare."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if any(name not in lowered for name in parsed.signed_headers):
        return False
    if DATE_HEADER.lower() not in parsed.signed_headers or "host" not in parsed.signed_headers:
        return False
    canonical = canonical_request(method, raw_path, params, lowered, parsed.signed_headers, body)
    expected = signature(sk, string_to_sign(lowered[DATE_HEADER.lower()], canonical))
    return hmac.compare_digest(expected, parsed.signature)
