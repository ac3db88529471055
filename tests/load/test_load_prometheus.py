"""PromQL blockers against a real Prometheus: a blocker scraped true blocks, then false lets go;
and every way Prometheus cannot be asked fails closed."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from controller.load.facts import Firing, Unknown
from controller.load.prometheus import PrometheusBlockers, PrometheusError, vector_of

pytestmark = pytest.mark.e2e


def _prom_module() -> Any:
    """tests/observability/prom.py (the suite's Prometheus harness), under a name of its own."""
    path = Path(__file__).parents[1] / "observability" / "prom.py"
    spec = importlib.util.spec_from_file_location("load_obs_prom", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


prom = _prom_module()
needs_prometheus = pytest.mark.skipif(
    prom.PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)"
)
BLOCKER = 'backup_running{job="dws-rebalancer"} > 0'


@pytest.fixture(scope="module")
def backup() -> Iterator[tuple[Gauge, str]]:
    """A scrape target exposing `backup_running`, which the tests switch on and off."""
    registry = CollectorRegistry()
    gauge = Gauge("backup_running", "1 while a backup runs", registry=registry)
    port = prom.free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield gauge, f"127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def prometheus(
    backup: tuple[Gauge, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    if prom.PROMETHEUS is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    with prom.Prometheus(tmp_path_factory.mktemp("prom"), [backup[1]]) as running:
        running.wait_for('up{job="dws-rebalancer"} == 1')
        yield running


async def _check_until(
    blockers: PrometheusBlockers, queries: list[str], want_firing: bool, timeout: float = 30
) -> list[Firing]:
    """Ask until the answer is what the scraped data now says (a condition, not a delay)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await blockers.check(queries)
        assert not isinstance(answer, Unknown), answer
        if bool(answer) is want_firing:
            return answer
        assert time.monotonic() < deadline, f"blockers still {'quiet' if want_firing else answer}"
        await asyncio.sleep(0.2)


@needs_prometheus
async def test_a_blocker_blocks_while_true_and_lets_go_when_false(
    prometheus: Any, backup: tuple[Gauge, str]
) -> None:
    gauge, _ = backup
    blockers = PrometheusBlockers(prometheus.url, timeout=5)
    queries = ['ALERTS{alertstate="firing", severity="critical"}', BLOCKER]
    try:
        gauge.set(0)
        assert await _check_until(blockers, queries, want_firing=False) == []
        gauge.set(1)
        (firing,) = await _check_until(blockers, queries, want_firing=True)
        assert firing.query == BLOCKER
        assert firing.series == 1
        assert 'instance="' in firing.example
        assert '__name__="backup_running"' in firing.example
        gauge.set(0)
        assert await _check_until(blockers, queries, want_firing=False) == []
    finally:
        await blockers.aclose()


@needs_prometheus
@pytest.mark.parametrize(
    ("query", "detail"),
    [
        pytest.param("up{", "HTTP 400 bad_data: ", id="not PromQL"),
        pytest.param("1 > bool 0", "the result is a scalar, not a vector", id="a scalar"),
        pytest.param('"text"', "the result is a string, not a vector", id="a string"),
        pytest.param("up[1m]", "the result is a matrix, not a vector", id="a range vector"),
    ],
)
async def test_a_query_prometheus_cannot_answer_as_a_vector_is_unknown(
    prometheus: Any, query: str, detail: str
) -> None:
    blockers = PrometheusBlockers(prometheus.url, timeout=5)
    try:
        answer = await blockers.check([query, BLOCKER])
    finally:
        await blockers.aclose()
    assert isinstance(answer, Unknown)
    assert answer.source == "prometheus"
    assert answer.detail.startswith(f"{query!r}: {detail}")
    assert blockers.calls == 1  # the queries after a failure are not asked


async def test_nothing_listening_is_unknown() -> None:
    port = prom.free_port()  # bound, then released: nothing listens there
    blockers = PrometheusBlockers(f"http://127.0.0.1:{port}", timeout=2)
    try:
        answer = await blockers.check([BLOCKER])
    finally:
        await blockers.aclose()
    assert answer == Unknown("prometheus", f"{BLOCKER!r}: request failed: ConnectError")


async def test_a_prometheus_that_never_answers_is_unknown_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        blockers = PrometheusBlockers(url, timeout=0.3)
        try:
            answer = await blockers.check([BLOCKER])
        finally:
            await blockers.aclose()
    assert answer == Unknown("prometheus", f"{BLOCKER!r}: no answer within 0.3s")


async def test_no_blockers_ask_nothing() -> None:
    blockers = PrometheusBlockers("http://127.0.0.1:9", timeout=1)
    try:
        assert await blockers.check([]) == []
    finally:
        await blockers.aclose()
    assert blockers.calls == 0


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(200, b"<html>ok</html>", "HTTP 200, not a Prometheus answer", id="HTML"),
        pytest.param(502, b"", "HTTP 502, not a Prometheus answer", id="empty 502"),
        pytest.param(200, b"[1]", "HTTP 200, not a Prometheus answer", id="a list"),
        pytest.param(
            503,
            b'{"status": "error", "errorType": "unavailable", "error": "starting"}',
            "HTTP 503 unavailable: starting",
            id="error answer",
        ),
        pytest.param(200, b'{"status": "success"}', "malformed answer, not a vector", id="no data"),
        pytest.param(
            200,
            b'{"status": "success", "data": {"resultType": "vector", "result": {}}}',
            "the vector is malformed",
            id="result not a list",
        ),
    ],
)
def test_answers_that_are_not_a_vector(status: int, body: bytes, message: str) -> None:
    with pytest.raises(PrometheusError) as caught:
        vector_of(httpx.Response(status, content=body))
    assert message in str(caught.value)
