"""AkSkAuth signs byte-for-byte like the vendor's `huaweicloudsdkcore` Signer.

Both sides are built from the same logical request: a method, a host, path segments, decoded
query pairs, a body and the optional project id / security token. httpx normalises the URL it
is given (it percent-encodes what must be encoded, writes a space in the query as `+` and keeps
existing `%XX` escapes), so the path is handed to both sides already percent-encoded, exactly as
the vendor SDK itself encodes path parameters; both signers decode it and re-encode it per
segment, so an encoded `/` (`%2F`) splits a segment on both sides alike. Dot-only segments are
left out because httpx resolves them (RFC 3986) before anything is signed. Bodies go with
`Content-Type: application/json`: for other types the vendor signs an UNSIGNED-PAYLOAD marker,
which the controller never sends.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from pydantic import SecretStr

from controller.clock import ManualClock
from controller.dws.auth import AkSkAuth

AK = "HPUABCDEFGHIJKLMNOPQ"
SK = "s3cr3tSKs3cr3tSKs3cr3tSKs3cr3tSKs3cr3tSK"
WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
SDK_DATE = "20260304T050607Z"


@dataclass(frozen=True)
class Case:
    method: str = "GET"
    host: str = "dws.cn-north-4.myhuaweicloud.com"
    segments: tuple[str, ...] = ("v1.0", "p1", "clusters")
    trailing_slash: bool = False
    query: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    project_id: str | None = "p1"
    security_token: str | None = None

    @property
    def path(self) -> str:
        path = "/" + "/".join(quote(s, safe="") for s in self.segments)
        return path + "/" if self.trailing_slash else path


def sign_ours(case: Case) -> httpx.Request:
    auth = AkSkAuth(
        AK,
        SecretStr(SK),
        project_id=case.project_id,
        security_token=SecretStr(case.security_token) if case.security_token else None,
        clock=ManualClock(WHEN),
    )
    headers = {"Content-Type": "application/json"} if case.body else {}
    request = httpx.Request(
        case.method,
        f"https://{case.host}{case.path}",
        params=list(case.query),
        content=case.body,
        headers=headers,
    )
    return next(auth.sync_auth_flow(request))


def sign_vendor(case: Case) -> SdkRequest:
    headers = {"X-Sdk-Date": SDK_DATE, "Host": case.host}
    if case.project_id:
        headers["X-Project-Id"] = case.project_id
    if case.security_token:
        headers["X-Security-Token"] = case.security_token
    if case.body:
        headers["Content-Type"] = "application/json"
    request = SdkRequest(
        case.method,
        "https",
        case.host,
        case.path,
        query_params=list(case.query),
        header_params=headers,
        body=case.body or None,
    )
    return Signer(SimpleNamespace(ak=AK, sk=SK)).sign(request)


TABLE = [
    pytest.param(Case(), id="list clusters"),
    pytest.param(Case(segments=("v1.0", "p1", "clusters", "c-1")), id="detail"),
    pytest.param(
        Case(method="POST", segments=("v1.0", "p1", "clusters", "c-1", "switchover")),
        id="switchover, no body",
    ),
    pytest.param(Case(trailing_slash=True), id="trailing slash"),
    pytest.param(Case(query=(("enterprise_project_id", "0"),)), id="enterprise project"),
    pytest.param(Case(query=(("all_granted_eps", "all"),)), id="all eps"),
    pytest.param(Case(query=(("a", "2"), ("a", "1"), ("b", ""))), id="repeated keys, empty value"),
    pytest.param(Case(query=(("k y", "v a+l&u=e"), ("~t", "%41"))), id="encoded keys and values"),
    pytest.param(Case(query=(("名字", "值"),)), id="unicode query"),
    pytest.param(Case(segments=("v1.0", "p1", "a b", "c~d", "é")), id="space, tilde, unicode path"),
    pytest.param(Case(segments=("v1.0", "p1", "a/b")), id="encoded slash"),
    pytest.param(Case(segments=("v1.0", "p1", "!$&'()*+,;=:@")), id="reserved path chars"),
    pytest.param(Case(method="POST", body=b'{"a": 1}'), id="json body"),
    pytest.param(Case(method="PUT", body='{"名": "é"}'.encode()), id="unicode body"),
    pytest.param(Case(project_id=None), id="no project id"),
    pytest.param(Case(security_token="temporary-token-value=="), id="security token"),
    pytest.param(Case(host="127.0.0.1:8443"), id="host with port"),
]

_SEGMENT_CHARS = "abcXYZ019-_.~ !$&'()*+,;=:@%/é中\u00a0"
_QUERY_CHARS = "abcXYZ019-_.~ !$&'()*+,;=:@%/?#[]é中"


def _text(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def _segment(rng: random.Random) -> str:
    segment = _text(rng, _SEGMENT_CHARS, 1, 8)
    return segment if segment.strip(".") else segment + "x"  # no dot-only segments (see above)


def generated(count: int, seed: int = 20260304) -> list[Case]:
    """Hypothesis-style random requests, from a fixed seed so a failure is reproducible."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
        keys = [_text(rng, _QUERY_CHARS, 1, 5) for _ in range(rng.randint(0, 3))]
        query = tuple(
            (rng.choice(keys), _text(rng, _QUERY_CHARS, 0, 6))
            for _ in range(rng.randint(0, 5))
            if keys
        )
        cases.append(
            Case(
                method=method,
                host=rng.choice(
                    ["dws.example.com", "127.0.0.1:8080", "dws.eu-de.otc.t-systems.com"]
                ),
                segments=("v1.0", *(_segment(rng) for _ in range(rng.randint(1, 4)))),
                trailing_slash=rng.random() < 0.2,
                query=query,
                body=rng.randbytes(rng.randint(1, 40))
                if method in ("POST", "PUT") and rng.random() < 0.6
                else b"",
                project_id=rng.choice([None, "p1", "0a1b2c3d4e5f"]),
                security_token=rng.choice([None, "tok+en/with=chars"]),
            )
        )
    return cases


@pytest.mark.parametrize("case", [*TABLE, *generated(60)])
def test_authorization_is_byte_identical_to_the_vendor_signer(case: Case) -> None:
    ours = sign_ours(case)
    vendor = sign_vendor(case)
    assert ours.headers["Authorization"] == vendor.header_params["Authorization"]
    for name in ("X-Sdk-Date", "Host", "X-Project-Id", "X-Security-Token"):
        assert ours.headers.get(name) == vendor.header_params.get(name)


def test_the_comparison_can_fail() -> None:
    """A different SK, date or body changes the signature: the equality above is not vacuous."""
    base = sign_vendor(Case(method="POST", body=b"{}")).header_params["Authorization"]
    assert sign_ours(Case(method="POST", body=b"{ }")).headers["Authorization"] != base
    assert sign_ours(Case(method="POST", body=b"{}")).headers["Authorization"] == base


def test_generated_cases_cover_the_hard_parts() -> None:
    """The generator really produces the inputs the module docstring promises."""
    cases = generated(60)
    paths = "".join(c.path for c in cases)
    queries = [c.query for c in cases]
    for fragment in ("%2F", "~", "%20", "%C3%A9"):
        assert fragment in paths
    assert any(len({k for k, _ in q}) < len(q) for q in queries)  # repeated keys
    assert any(v == "" for q in queries for _, v in q)  # empty values
    assert any(c.body for c in cases)
    assert any(c.security_token for c in cases)
    assert any(c.project_id is None for c in cases)
