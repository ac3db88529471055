"""The HTTP endpoints over a real socket: probes, metrics negotiation, status JSON, 404/405."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from obskit import T0, BackgroundServer, StaticStatus
from structlog.testing import capture_logs

from controller import __version__, logs
from controller.http.server import HttpServer, create_app
from controller.model import Reason
from controller.record.metrics import Metrics

pytestmark = pytest.mark.e2e
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
SOURCE = StaticStatus()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        BackgroundServer(create_app(Metrics(), SOURCE)) as server,
        httpx.Client(base_url=f"http://{server.address}") as client,
    ):
        yield client


@pytest.fixture
def client(http: httpx.Client) -> httpx.Client:
    vars(SOURCE).update(vars(StaticStatus()))  # every test starts from healthy defaults
    return http


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize(
    ("verdict", "status"),
    [((True, "ok"), 200), ((False, "last cycle failed: dws_transport"), 503)],
)
def test_probes_answer_200_or_503_with_the_reason(
    client: httpx.Client, path: str, verdict: tuple[bool, str], status: int
) -> None:
    SOURCE.healthy = SOURCE.readiness = verdict
    response = client.get(path)
    assert response.status_code == status
    assert response.text == verdict[1] + "\n"
    assert response.headers["content-type"].startswith("text/plain")


def test_health_and_readiness_are_independent(client: httpx.Client) -> None:
    SOURCE.readiness = (False, "DWS not reached yet")
    assert (client.get("/healthz").status_code, client.get("/readyz").status_code) == (200, 503)


@pytest.mark.parametrize(
    ("accept", "content_type", "openmetrics"),
    [
        (None, "text/plain; version=0.0.4", False),
        ("text/plain", "text/plain; version=0.0.4", False),
        ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text", True),
        (PROMETHEUS_ACCEPT, "application/openmetrics-text", True),
    ],
    ids=["none", "text", "openmetrics", "prometheus"],
)
def test_metrics_negotiates_openmetrics(
    client: httpx.Client, accept: str | None, content_type: str, openmetrics: bool
) -> None:
    response = client.get("/metrics", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert "dws_rebalancer_build_info" in response.text
    assert (response.text.splitlines()[-1] == "# EOF") is openmetrics


def test_metrics_are_gzip_compressed_when_the_scraper_accepts_it(client: httpx.Client) -> None:
    plain = client.get("/metrics", headers={"Accept-Encoding": "identity"})
    packed = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content)
    ours = [line for line in packed.text.splitlines() if "dws_rebalancer_" in line]
    assert ours  # httpx decompressed it: the exposition (process_* moved between the scrapes)
    assert ours == [line for line in plain.text.splitlines() if "dws_rebalancer_" in line]


def test_status_is_json_with_times_and_enums(client: httpx.Client) -> None:
    SOURCE.snapshot = {
        "clusters": [
            {
                "name": "dws-a",
                "reason": Reason.OUTSIDE_WINDOW,
                "next_eligible": T0,
                "cooldown": dt.timedelta(hours=6),
                "flags": frozenset({"UNBALANCED"}),
            }
        ],
        "paused": False,
    }
    response = client.get("/status")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "clusters": [
            {
                "name": "dws-a",
                "reason": "outside_window",
                "next_eligible": T0.isoformat(),
                "cooldown": 21600.0,
                "flags": ["UNBALANCED"],
            }
        ],
        "paused": False,
    }


def test_status_keeps_the_controller_summary_first(client: httpx.Client) -> None:
    SOURCE.snapshot = {"controller": {"version": "1.0", "paused": False}, "clusters": []}
    response = client.get("/status")
    assert response.text == '{"controller": {"version": "1.0", "paused": false}, "clusters": []}\n'


@pytest.mark.parametrize("query", ["pretty=1", "pretty", "pretty=true", "x=1&pretty=yes"])
def test_status_pretty_prints_on_request(client: httpx.Client, query: str) -> None:
    SOURCE.snapshot = {"controller": {"paused": False}, "clusters": [{"name": "dws-a"}]}
    pretty = client.get(f"/status?{query}")
    assert pretty.status_code == 200
    assert pretty.headers["content-type"] == "application/json"
    assert pretty.text.splitlines()[:3] == ["{", '  "controller": {', '    "paused": false']
    assert pretty.json() == client.get("/status").json()


@pytest.mark.parametrize("query", ["", "?pretty=0", "?pretty=no", "?other=1"])
def test_status_is_compact_by_default(client: httpx.Client, query: str) -> None:
    SOURCE.snapshot = {"controller": {"paused": False}, "clusters": []}
    assert client.get(f"/status{query}").text.count("\n") == 1


def test_root_lists_every_endpoint(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    index = response.json()
    assert index["service"] == "dws-rebalancer"
    assert index["version"] == __version__
    assert sorted(index["endpoints"]) == ["/healthz", "/metrics", "/readyz", "/status"]
    for path in index["endpoints"]:  # every listed endpoint answers
        assert client.get(path).status_code == 200
    assert client.get("/?pretty=1").text.startswith('{\n  "service"')


def test_status_never_shows_a_registered_secret(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "_secrets", set())
    monkeypatch.setattr(logs, "_secret_re", None)
    logs.register_secrets("sk-Very$ecret/Value")
    SOURCE.snapshot = {"clusters": [{"detail": "403 for key sk-Very$ecret/Value"}]}
    response = client.get("/status")
    assert "sk-Very$ecret" not in response.text
    assert json.loads(response.text)["clusters"][0]["detail"] == "403 for key [REDACTED]"


def test_status_failure_is_a_500_without_traceback(client: httpx.Client) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("journal closed")

    SOURCE.snapshot = broken
    with capture_logs() as events:
        response = client.get("/status")
    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert "journal closed" not in response.text
    assert "status_snapshot_failed" in [e["event"] for e in events]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_that_raises_answers_503(path: str) -> None:
    class Broken(StaticStatus):
        def health(self) -> tuple[bool, str]:
            raise RuntimeError("runner gone")

        ready = health

    with BackgroundServer(create_app(Metrics(), Broken())) as server, capture_logs() as events:
        response = httpx.get(f"http://{server.address}{path}")
    assert response.status_code == 503
    assert "runner gone" not in response.text
    assert "probe_failed" in [e["event"] for e in events]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/metrics/", 404),
        ("GET", "/index.html", 404),
        ("GET", "/admin/pause", 404),
        ("POST", "/nope", 404),
        ("POST", "/metrics", 405),
        ("PUT", "/status", 405),
        ("DELETE", "/healthz", 405),
        ("POST", "/readyz", 405),
        ("POST", "/", 405),
    ],
)
def test_unknown_paths_and_methods_are_refused(
    client: httpx.Client, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    if status == 405:
        assert response.headers["allow"] == "GET"


async def test_port_zero_gets_an_ephemeral_port_and_stop_closes_it() -> None:
    server = HttpServer(create_app(Metrics(), StaticStatus()), "127.0.0.1", 0)
    await server.start()
    port = server.port
    assert port != 0
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    await server.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


async def test_busy_port_gives_an_error_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer(create_app(Metrics(), StaticStatus()), "127.0.0.1", port)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            await server.start()


async def test_stop_without_start_is_harmless() -> None:
    await HttpServer(create_app(Metrics(), StaticStatus()), "127.0.0.1", 0).stop()
