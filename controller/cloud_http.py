"""What the HTTPS clients beside DWS's own share: one TLS context, and an error status in words.

The TLS context: each httpx client would otherwise load the CA bundle again, about 0.9 MiB of
memory each, which a fleet of 200 targets pays 200 times over. It is the one httpx would build
itself (certifi's bundle, `SSL_CERT_FILE` / `SSL_CERT_DIR` honoured), made once on first use.
"""

from __future__ import annotations

import functools
import ssl

import httpx

#: An error's words are kept short: they end up in decision details and log lines.
MAX_DETAIL = 200


@functools.cache
def client_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def error_text(response: httpx.Response) -> str:
    """`HTTP 503 ces.0015: ...`, from Huawei Cloud's `{"error": {"code", "message"}}` or the
    flat `{"error_code", "error_msg"}` (the API gateway's) when the body has one."""
    try:
        body = response.json()
        error = body.get("error", body)
        code = error.get("code") or error.get("error_code")
        message = error.get("message") or error.get("error_msg")
    except (ValueError, AttributeError):
        code, message = None, None
    text = f"HTTP {response.status_code}"
    if code or message:
        text += f" {code or ''}: {message or ''}".rstrip(": ")
    return text[:MAX_DETAIL]
