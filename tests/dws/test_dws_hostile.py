"""Answers that must fail closed, not crash: deep nesting, unforeseen content, duplicated ids, odd acks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from dwskit import raw
from pydantic import SecretStr
from structlog.testing import capture_logs

from controller.app.cli import main
from controller.clock import ManualClock, SystemClock
from controller.dws import client as client_module
from controller.dws.auth import StaticTokenAuth
from controller.dws.client import DwsClient
from controller.dws.errors import MalformedResponseError, error_from_response
from controller.dws.parse import ListDecoder, parse_cluster_list
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

DEPTH = 100_000
#: Far deeper than Python's recursion limit: `json.loads` raises RecursionError on it.
NESTED = b"[" * DEPTH + b"]" * DEPTH
NESTED_LIST = b'{"clusters": ' + NESTED + b', "count": 1}'
NESTED_DETAIL = b'{"cluster": {"id": "c-1", "tags": ' + NESTED + b"}}"


def deep_list(depth: int) -> object:
    """A Python value nested deeper than `str()` can render (no JSON involved)."""
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


class Answers:
    """A fake DWS answering every request with one response; counts the requests."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.response


def fake_client(answers: Answers, **kwargs: Any) -> DwsClient:
    return DwsClient(
        endpoint="https://dws.test",
        project_id="p1",
        auth=StaticTokenAuth(SecretStr("t")),
        transport=httpx.MockTransport(answers),
        clock=ManualClock(SystemClock().now()),
        **kwargs,
    )


def json_response(content: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})


# ---- deeply nested and unforeseen content --------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "body"),
    [("list_clusters", NESTED_LIST), ("get_cluster", NESTED_DETAIL)],
)
async def test_deeply_nested_json_is_a_malformed_response_not_a_crash(
    operation: str, body: bytes
) -> None:
    answers = Answers(json_response(body))
    async with fake_client(answers) as client:
        read = client.list_clusters if operation == "list_clusters" else client.get_cluster
        args = () if operation == "list_clusters" else ("c-1",)
        with pytest.raises(MalformedResponseError) as info:
            await read(*args)
    assert str(info.value) == f"{operation}: HTTP 200 with JSON nested too deeply"
    assert info.value.__cause__ is None  # one line: no chained traceback
    assert info.value.__suppress_context__
    assert len(answers.requests) == 1  # a malformed answer is not retried


@pytest.mark.parametrize(
    "failure", [TypeError, AttributeError, ValueError, KeyError, RecursionError]
)
async def test_anything_a_parser_raises_becomes_a_malformed_response(
    monkeypatch: pytest.MonkeyPatch, failure: type[Exception]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise failure("the parser did not expect this")

    monkeypatch.setattr(ListDecoder, "decode", broken)
    monkeypatch.setattr(client_module, "parse_cluster_detail", broken)
    answers = Answers(httpx.Response(200, json={"clusters": [], "cluster": {}}))
    async with fake_client(answers) as client:
        with pytest.raises(MalformedResponseError, match=r"^list_clusters: the response could not"):
            await client.list_clusters()
        with pytest.raises(MalformedResponseError, match=r"^get_cluster: the response could not"):
            await client.get_cluster("c-1")


async def test_running_out_of_memory_is_not_disguised_as_a_bad_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exhausted(*_args: object, **_kwargs: object) -> object:
        raise MemoryError

    monkeypatch.setattr(ListDecoder, "decode", exhausted)
    async with fake_client(Answers(httpx.Response(200, json={"clusters": []}))) as client:
        with pytest.raises(MemoryError):
            await client.list_clusters()


def test_a_list_entry_that_trips_the_parser_is_skipped_like_any_unreadable_raw() -> None:
    skipped: list[MalformedResponseError] = []
    body = {"clusters": [raw(id="a", updated=deep_list(5000)), raw(id="b")]}
    clusters = parse_cluster_list(body, on_skip=skipped.append)
    assert [c.id for c in clusters] == ["b"]
    assert [str(e) for e in skipped] == ["clusters[0]: JSON nested too deeply"]


def test_every_entry_tripping_the_parser_is_still_an_error() -> None:
    body = {"clusters": [raw(updated=deep_list(5000))]}
    with pytest.raises(MalformedResponseError, match="none of the 1 clusters could be read"):
        parse_cluster_list(body)


def test_an_error_response_nested_too_deeply_still_maps_to_its_typed_error() -> None:
    error = error_from_response(500, httpx.Headers(), NESTED, "switchover")
    assert error.status == 500
    assert error.error_msg == "HTTP 500 with an unreadable body (JSON nested too deeply)"


async def test_a_5xx_switchover_with_a_nested_body_stays_outcome_unknown() -> None:
    answers = Answers(json_response(NESTED, status=502))
    async with fake_client(answers) as client:
        ack = await client.switchover("c-1")
    assert ack.accepted is None
    assert "nested too deeply" in ack.detail
    assert len(answers.requests) == 1


# ---- the same id twice in one list answer -------------------------------------------------------


def test_a_duplicated_id_comes_back_once_marked_with_its_count() -> None:
    body = {
        "clusters": [
            raw(id="dup", task_status="SNAPSHOTTING"),
            raw(id="solo"),
            raw(id="dup"),
        ]
    }
    clusters = parse_cluster_list(body)
    assert [(c.id, c.listing_copies, c.listing_ambiguous) for c in clusters] == [
        ("dup", 2, True),
        ("solo", 1, False),
    ]
    assert clusters[0].task_status == "SNAPSHOTTING"  # the first entry's fields; blocked anyway


def test_an_unreadable_entry_with_the_same_id_still_makes_the_listing_ambiguous() -> None:
    skipped: list[MalformedResponseError] = []
    body = {
        "clusters": [{**raw(id="dup", task_status="SNAPSHOTTING"), "name": None}, raw(id="dup")]
    }
    (cluster,) = parse_cluster_list(body, on_skip=skipped.append)
    assert (cluster.id, cluster.listing_copies, cluster.task_status) == ("dup", 2, None)
    assert len(skipped) == 1


def test_ids_are_compared_as_parse_cluster_reads_them() -> None:
    (cluster,) = parse_cluster_list({"clusters": [raw(id="dup"), raw(id=" dup ")]})
    assert cluster.listing_copies == 2


def test_distinct_ids_are_not_ambiguous() -> None:
    clusters = parse_cluster_list({"clusters": [raw(id="a"), raw(id="b")]})
    assert [c.listing_copies for c in clusters] == [1, 1]


# ---- a switchover accepted with a body that is not JSON -----------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>OK</html>", headers={"Content-Type": "text/html"}),
        json_response(b'{"truncat'),
        json_response(NESTED),
    ],
    ids=["html", "truncated", "nested"],
)
async def test_a_200_switchover_that_is_not_json_is_accepted_logged_and_reported(
    response: httpx.Response,
) -> None:
    seen: list[tuple[str, str]] = []
    answers = Answers(response)
    async with fake_client(answers, on_unexpected=lambda *args: seen.append(args)) as client:
        with capture_logs() as logs:
            ack = await client.switchover("c-1")
    assert ack.accepted is True
    assert len(answers.requests) == 1
    assert seen == [("switchover", "not_json")]
    (line,) = [e for e in logs if e["event"] == "switchover_response_not_json"]
    assert line["log_level"] == "warning"
    assert line["cluster_id"] == "c-1"
    assert line["body_bytes"] == len(response.content)
    assert "OK</html>" not in repr(line)  # the body itself is never logged


@pytest.mark.parametrize("content", [b"", b"  ", b"{}", b'{"ok": true}'])
async def test_an_empty_or_json_switchover_ack_is_not_unexpected(content: bytes) -> None:
    seen: list[tuple[str, str]] = []
    answers = Answers(json_response(content))
    async with fake_client(answers, on_unexpected=lambda *args: seen.append(args)) as client:
        with capture_logs() as logs:
            assert (await client.switchover("c-1")).accepted is True
    assert seen == []
    assert [e["event"] for e in logs] == []


async def test_a_failing_unexpected_hook_never_breaks_the_switchover() -> None:
    def broken(_operation: str, _kind: str) -> None:
        raise RuntimeError("metrics down")

    answers = Answers(httpx.Response(200, text="not json"))
    async with fake_client(answers, on_unexpected=broken) as client:
        with capture_logs() as logs:
            assert (await client.switchover("c-1")).accepted is True
    assert [e["event"] for e in logs] == [
        "switchover_response_not_json",
        "dws_unexpected_hook_failed",
    ]


# ---- end to end: the command line against the emulator on a real socket -------------------------

AK, SK, PROJECT = "HOSTILEAK00000000001", "hostile-secret-key-value", "hostile-project"


@pytest.mark.e2e
def test_once_with_deeply_nested_json_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    world.add_cluster(id="c-sales", name="sales", flags={"UNBALANCED"})
    world.faults.inject("list_clusters", "malformed", body=NESTED_LIST)
    config = tmp_path / "config.yaml"
    with BackgroundServer(world) as server:
        config.write_text(
            f"endpoint: {server.url}\nproject_id: {PROJECT}\nauth: {{ak: {AK}, sk: {SK}}}\n"
            f"journal_path: {tmp_path / 'journal.db'}\nlog_format: json\n"
        )
        code = main(["once", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    plain = [line for line in err.splitlines() if not line.startswith("{")]
    assert plain == ["dws-rebalancer: list_clusters: HTTP 200 with JSON nested too deeply"]
    for line in err.splitlines():
        if line.startswith("{"):
            assert json.loads(line)["level"] != "critical", line
    assert world.switchovers == []
