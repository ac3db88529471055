"""Auth flows over a fake transport: what each sends, IAM login/refresh decisions, secret hygiene."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from controller.app.bootstrap import dws_client
from controller.app.credentials import auth_from_settings
from controller.clock import ManualClock
from controller.dws import signing
from controller.dws.auth import AkSkAuth, IamPasswordAuth, StaticTokenAuth
from controller.dws.client import DwsClient
from controller.dws.errors import AuthenticationError
from controller.settings import load_settings

SK = "sk-VALUE-never-shown-0123456789"
SECURITY_TOKEN = "sec-TOKEN-never-shown"
STATIC_TOKEN = "static-TOKEN-never-shown"
PASSWORD = "pass-WORD-never-shown"
IAM = "https://iam.example.test"
SECRETS = (SK, SECURITY_TOKEN, STATIC_TOKEN, PASSWORD)

Handler = Callable[[httpx.Request], httpx.Response]


def _sign(auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
    return next(auth.sync_auth_flow(request))


def _aksk(clock: ManualClock, **kwargs: object) -> AkSkAuth:
    return AkSkAuth("AK123", SecretStr(SK), clock=clock, **kwargs)  # type: ignore[arg-type]


def test_aksk_sets_and_signs_exactly_its_headers(clock: ManualClock) -> None:
    auth = _aksk(clock, project_id="p1", security_token=SecretStr(SECURITY_TOKEN))
    request = _sign(auth, httpx.Request("GET", "https://dws.test/v1.0/p1/clusters?b=2&a=1"))
    parsed = signing.parse_authorization(request.headers["Authorization"])
    assert parsed.ak == "AK123"
    assert parsed.signed_headers == ["host", "x-project-id", "x-sdk-date", "x-security-token"]
    assert request.headers["X-Sdk-Date"] == "20260304T050607Z"
    assert request.headers["X-Project-Id"] == "p1"
    assert request.headers["X-Security-Token"] == SECURITY_TOKEN
    assert signing.verify(
        sk=SK,
        parsed=parsed,
        method="GET",
        raw_path="/v1.0/p1/clusters",
        params=[("a", "1"), ("b", "2")],
        headers=dict(request.headers),
        body=b"",
    )


@pytest.mark.parametrize(
    ("content", "signed"),
    [
        (b"", ["host", "x-sdk-date"]),
        (b'{"a": 1}', ["content-type", "host", "x-sdk-date"]),
    ],
)
def test_aksk_signs_content_type_only_with_a_body(
    clock: ManualClock, content: bytes, signed: list[str]
) -> None:
    auth = _aksk(clock, project_id=None)
    request = httpx.Request(
        "POST", "https://dws.test/x", content=content, headers={"Content-Type": "application/json"}
    )
    header = _sign(auth, request).headers["Authorization"]
    assert signing.parse_authorization(header).signed_headers == signed


def test_aksk_date_follows_the_clock(clock: ManualClock) -> None:
    auth = _aksk(clock, project_id="p1")
    first = _sign(auth, httpx.Request("GET", "https://dws.test/a")).headers["Authorization"]
    clock.advance(1)
    second = _sign(auth, httpx.Request("GET", "https://dws.test/a"))
    assert second.headers["X-Sdk-Date"] == "20260304T050608Z"
    assert second.headers["Authorization"] != first


def test_static_token_sets_x_auth_token() -> None:
    request = _sign(StaticTokenAuth(SecretStr(STATIC_TOKEN)), httpx.Request("GET", "https://d/x"))
    assert request.headers["X-Auth-Token"] == STATIC_TOKEN
    assert "Authorization" not in request.headers


class FakeIam:
    """IAM + DWS behind one MockTransport: issues numbered tokens, DWS accepts only `valid` ones."""

    def __init__(self, clock: ManualClock, ttl: dt.timedelta = dt.timedelta(hours=24)) -> None:
        self.clock, self.ttl = clock, ttl
        self.logins: list[dict[str, object]] = []
        self.valid: set[str] = set()
        self.seen_tokens: list[str | None] = []
        self.login_status = 201
        self.login_delay = 0.0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            return await self._login(request)
        token = request.headers.get("X-Auth-Token")
        self.seen_tokens.append(token)
        if token not in self.valid:
            return httpx.Response(401, json={"error_code": "APIGW.0301", "error_msg": "bad token"})
        return httpx.Response(200, json={"clusters": [], "count": 0})

    async def _login(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.login_delay)  # lets parallel requests pile up on the lock
        self.logins.append(json.loads(request.content))
        if self.login_status != 201:
            body = {
                "error": {
                    "code": self.login_status,
                    "message": "The username or password is wrong.",
                }
            }
            return httpx.Response(self.login_status, json=body)
        token = f"tok-{len(self.logins)}"
        self.valid.add(token)
        expires = (self.clock.now() + self.ttl).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return httpx.Response(
            201, json={"token": {"expires_at": expires}}, headers={"X-Subject-Token": token}
        )

    def client(self, auth: httpx.Auth) -> DwsClient:
        return DwsClient(
            endpoint="https://dws.test",
            project_id="p1",
            auth=auth,
            transport=httpx.MockTransport(self.handler),
            clock=self.clock,
        )


def _iam(clock: ManualClock, margin: dt.timedelta = dt.timedelta(minutes=30)) -> IamPasswordAuth:
    return IamPasswordAuth(
        IAM, "alice", SecretStr(PASSWORD), "acme", "p1", clock=clock, refresh_margin=margin
    )


async def test_iam_logs_in_once_and_reuses_the_token(clock: ManualClock) -> None:
    iam = FakeIam(clock)
    async with iam.client(_iam(clock)) as client:
        await client.list_clusters()
        await client.list_clusters()
    assert iam.seen_tokens == ["tok-1", "tok-1"]
    assert iam.logins == [
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "alice", "password": PASSWORD, "domain": {"name": "acme"}}
                    },
                },
                "scope": {"project": {"id": "p1"}},
            }
        }
    ]


@pytest.mark.parametrize(
    ("ttl", "advance", "logins"),
    [
        (dt.timedelta(hours=24), dt.timedelta(hours=23, minutes=29), 1),
        (dt.timedelta(hours=24), dt.timedelta(hours=23, minutes=30), 2),  # margin reached
        (dt.timedelta(minutes=20), dt.timedelta(minutes=9), 1),  # short token: half-way
        (dt.timedelta(minutes=20), dt.timedelta(minutes=10), 2),
    ],
)
async def test_iam_refreshes_before_expiry(
    clock: ManualClock, ttl: dt.timedelta, advance: dt.timedelta, logins: int
) -> None:
    iam = FakeIam(clock, ttl)
    async with iam.client(_iam(clock)) as client:
        await client.list_clusters()
        clock.advance(advance)
        await client.list_clusters()
    assert len(iam.logins) == logins


async def test_iam_relogs_in_once_on_a_401_and_replays(clock: ManualClock) -> None:
    iam = FakeIam(clock)
    async with iam.client(_iam(clock)) as client:
        await client.list_clusters()
        iam.valid.clear()  # IAM revoked the token early
        assert await client.list_clusters() == []
    assert iam.seen_tokens == ["tok-1", "tok-1", "tok-2"]


async def test_iam_a_second_401_goes_to_the_caller(clock: ManualClock) -> None:
    iam = FakeIam(clock)
    original = iam.handler

    async def always_401(request: httpx.Request) -> httpx.Response:
        response = await original(request)
        return response if request.url.path == "/v3/auth/tokens" else httpx.Response(401)

    iam.handler = always_401  # type: ignore[method-assign]
    async with iam.client(_iam(clock)) as client:
        with pytest.raises(AuthenticationError, match="HTTP 401"):
            await client.list_clusters()
    assert len(iam.logins) == 2


async def test_iam_lock_means_parallel_requests_log_in_once(clock: ManualClock) -> None:
    iam = FakeIam(clock)
    iam.login_delay = 0.01
    async with iam.client(_iam(clock)) as client:
        await asyncio.gather(*(client.list_clusters() for _ in range(5)))
    assert len(iam.logins) == 1
    assert iam.seen_tokens == ["tok-1"] * 5


async def test_iam_failure_is_an_authentication_error_with_iam_s_message(
    clock: ManualClock,
) -> None:
    iam = FakeIam(clock)
    iam.login_status = 401
    async with iam.client(_iam(clock)) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.list_clusters()
    assert info.value.operation == "iam_token"
    assert str(info.value) == "iam_token failed: HTTP 401: The username or password is wrong."
    assert iam.seen_tokens == []  # nothing was sent to DWS


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, {"token": {"expires_at": "2026-03-05T05:06:07.000000Z"}}),
        ({"X-Subject-Token": "t"}, {"token": {}}),
        ({"X-Subject-Token": "t"}, {"token": {"expires_at": "tomorrow"}}),
        ({"X-Subject-Token": "t"}, ["not", "an", "object"]),
    ],
)
async def test_iam_answer_without_token_or_expiry_is_refused(
    clock: ManualClock, headers: dict[str, str], body: object
) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(201, json=body, headers=headers))
    client = DwsClient(
        endpoint="https://d", project_id="p1", auth=_iam(clock), transport=transport, clock=clock
    )
    async with client:
        with pytest.raises(AuthenticationError, match="without an X-Subject-Token"):
            await client.list_clusters()


def test_iam_refuses_a_sync_client(clock: ManualClock) -> None:
    with (
        httpx.Client(
            auth=_iam(clock), transport=httpx.MockTransport(lambda r: httpx.Response(200))
        ) as http,
        pytest.raises(TypeError, match="AsyncClient"),
    ):
        http.get("https://d/x")


def _settings(**auth: str) -> dict[str, str]:
    env = {"DWS_REBALANCER_ENDPOINT": "https://dws.test", "DWS_REBALANCER_PROJECT_ID": "p1"}
    env.update({f"DWS_REBALANCER_AUTH__{k.upper()}": v for k, v in auth.items()})
    return env


@pytest.mark.parametrize(
    ("auth", "cls"),
    [
        ({"ak": "AK", "sk": SK}, AkSkAuth),
        ({"ak": "AK", "sk": SK, "security_token": SECURITY_TOKEN}, AkSkAuth),
        ({"token": STATIC_TOKEN}, StaticTokenAuth),
        (
            {"username": "alice", "password": PASSWORD, "domain": "acme", "iam_endpoint": IAM},
            IamPasswordAuth,
        ),
    ],
)
def test_auth_from_settings(
    clock: ManualClock, auth: dict[str, str], cls: type[httpx.Auth]
) -> None:
    settings = load_settings(environ=_settings(**auth))
    built = auth_from_settings(settings, clock)
    assert type(built) is cls
    client = dws_client(settings, clock)
    for text in (repr(built), repr(client)):
        assert not any(secret in text for secret in SECRETS), text


def test_temporary_credentials_send_the_security_token(clock: ManualClock) -> None:
    settings = load_settings(environ=_settings(ak="AK", sk=SK, security_token=SECURITY_TOKEN))
    request = _sign(auth_from_settings(settings, clock), httpx.Request("GET", "https://d/x"))
    assert request.headers["X-Security-Token"] == SECURITY_TOKEN
    assert request.headers["X-Project-Id"] == "p1"


async def test_secrets_appear_only_where_they_belong(clock: ManualClock) -> None:
    """Each secret is in its one intended header (or the IAM body), never in reprs or errors."""
    sent: list[httpx.Request] = []
    iam = FakeIam(clock)

    async def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return await iam.handler(request)

    auths = [
        _aksk(clock, project_id="p1", security_token=SecretStr(SECURITY_TOKEN)),
        StaticTokenAuth(SecretStr(STATIC_TOKEN)),
        _iam(clock),
    ]
    errors: list[str] = []
    for auth in auths:
        client = DwsClient(
            endpoint="https://d",
            project_id="p1",
            auth=auth,
            transport=httpx.MockTransport(record),
            clock=clock,
        )
        async with client:
            try:
                await client.list_clusters()
            except AuthenticationError as exc:  # the fake DWS only knows IAM tokens
                errors.extend((str(exc), repr(exc)))
        assert not any(s in repr(auth) or s in repr(client) for s in SECRETS)
    iam.login_status = 401
    async with iam.client(_iam(clock)) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.list_clusters()
    errors.extend((str(info.value), repr(info.value)))

    allowed = {"x-security-token": SECURITY_TOKEN, "x-auth-token": STATIC_TOKEN}
    for request in sent:
        for name, value in request.headers.items():
            for secret in SECRETS:
                if secret in value:
                    assert allowed.get(name) == secret, f"{secret!r} leaked into {name}"
        if PASSWORD in request.content.decode():
            assert request.url.path == "/v3/auth/tokens"
    assert sum(PASSWORD in r.content.decode() for r in sent) == 1  # the one recorded login
    assert any(STATIC_TOKEN in r.headers.get("x-auth-token", "") for r in sent)
    assert errors
    assert not any(s in e for s in SECRETS for e in errors)
