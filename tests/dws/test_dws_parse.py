"""Raw DWS JSON → Cluster: the tolerant parts, the strict parts, and what happens to bad entries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from dwskit import raw

from controller.dws.errors import MalformedResponseError
from controller.dws.parse import parse_cluster, parse_cluster_detail, parse_cluster_list
from controller.model import MaintainWindow, Version


@pytest.mark.parametrize(
    ("status", "available"),
    [
        ("AVAILABLE", True),
        ("ACTIVE", True),
        ("available", True),
        ("CREATING", False),
        ("FAILED", False),
        ("FROZEN", False),
        ("POLICE_FROZEN", False),
        ("DELETING", False),
        ("SOMETHING_NEW", False),
    ],
)
def test_status_is_kept_raw_and_both_healthy_spellings_are_available(
    status: str, available: bool
) -> None:
    cluster = parse_cluster(raw(status=status))
    assert cluster.status == status
    assert cluster.available is available


@pytest.mark.parametrize(
    ("sub_status", "flags"),
    [
        ("NORMAL", {"NORMAL"}),
        ("UNBALANCED", {"UNBALANCED"}),
        ("UNBALANCED | READONLY", {"UNBALANCED", "READONLY"}),
        ("DEGRADED|UNBALANCED", {"DEGRADED", "UNBALANCED"}),
        ("  unbalanced  |  Redistributing ", {"UNBALANCED", "REDISTRIBUTING"}),
        (
            "DEGRADED | UNBALANCED | READONLY | REDISTRIBUTION-FAILURE",
            {"DEGRADED", "UNBALANCED", "READONLY", "REDISTRIBUTION-FAILURE"},
        ),
        ("UNBALANCED | | ", {"UNBALANCED"}),
        ("BRAND_NEW_FLAG", {"BRAND_NEW_FLAG"}),
        ("", set()),
        ("   ", set()),
        (None, set()),
    ],
)
def test_sub_status_is_a_set_of_flags(sub_status: str | None, flags: set[str]) -> None:
    fields = raw(sub_status=sub_status)
    if sub_status is None:
        fields["sub_status"] = None  # explicit null, not just absent
    assert parse_cluster(fields).sub_status == flags


def test_sub_status_absent_is_empty() -> None:
    fields = raw()
    del fields["sub_status"]
    assert parse_cluster(fields).sub_status == frozenset()


@pytest.mark.parametrize(
    ("task_status", "expected"),
    [
        ("", None),
        ("   ", None),
        (None, None),
        ("ACTIVE_STANDY_SWITCHOVER", "ACTIVE_STANDY_SWITCHOVER"),
        ("active_standy_switchover", "ACTIVE_STANDY_SWITCHOVER"),
        ("ACTIVE_STANDY_SWITCHOVER_FAILURE", "ACTIVE_STANDY_SWITCHOVER_FAILURE"),
        ("SNAPSHOTTING", "SNAPSHOTTING"),
        ("SOME_FUTURE_TASK", "SOME_FUTURE_TASK"),
        (0, "0"),  # odd but present: busy, never idle
    ],
)
def test_task_status_empty_means_idle_anything_else_busy(
    task_status: object, expected: str | None
) -> None:
    fields = raw()
    fields["task_status"] = task_status
    cluster = parse_cluster(fields)
    assert cluster.task_status == expected
    assert cluster.busy is (expected is not None)


def test_task_status_absent_means_idle() -> None:
    fields = raw()
    del fields["task_status"]
    assert parse_cluster(fields).task_status is None


def test_switching_is_recognised_whatever_the_case() -> None:
    assert parse_cluster(raw(task_status="Active_Standy_Switchover")).switching


@pytest.mark.parametrize(
    ("version", "parsed", "raw_version"),
    [
        ("8.1.1.202", Version((8, 1, 1, 202)), "8.1.1.202"),
        ("8.2.1.230", Version((8, 2, 1, 230)), "8.2.1.230"),
        ("1.2.0", Version((1, 2, 0)), "1.2.0"),
        (" 9.1.0.200 ", Version((9, 1, 0, 200)), " 9.1.0.200 "),
        ("8.1", None, "8.1"),
        ("8.1.1.202-beta", None, "8.1.1.202-beta"),
        ("latest", None, "latest"),
        ("", None, ""),
        (8.1, None, "8.1"),
        (None, None, ""),
    ],
)
def test_version_parsed_or_none_with_raw_kept(
    version: object, parsed: Version | None, raw_version: str
) -> None:
    fields = raw()
    fields["version"] = version
    cluster = parse_cluster(fields)
    assert cluster.version == parsed
    assert cluster.raw_version == raw_version


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (None, {}),
        ([], {}),
        ([{"key": "env", "value": "prod"}], {"env": "prod"}),
        (
            [{"key": "dws-rebalancer", "value": "disabled"}, {"key": "team", "value": "bi"}],
            {"dws-rebalancer": "disabled", "team": "bi"},
        ),
        ([{"key": "flag"}], {"flag": ""}),
        ([{"key": "flag", "value": None}], {"flag": ""}),
        ({"env": "prod"}, {"env": "prod"}),
    ],
)
def test_tags(tags: object, expected: dict[str, str]) -> None:
    fields = raw()
    fields["tags"] = tags
    assert dict(parse_cluster(fields).tags) == expected


def test_unknown_extra_fields_are_ignored() -> None:
    cluster = parse_cluster(
        raw(
            action_progress={"SNAPSHOTTING": "20%"},
            number_of_node=3,
            something_new={"deep": [1, 2, 3]},
        )
    )
    assert cluster == parse_cluster(raw())


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        ([{"id": "n1", "status": "200"}, {"id": "n2"}], ("n1", "n2")),
        ([{"id": "n1"}, {"id": ""}, {"id": 7}, "n3", None], ("n1",)),  # unreadable ones: no node
        ("n1,n2", ()),
        (None, ()),
    ],
)
def test_node_ids_are_read_for_cloud_eyes_node_metrics(nodes: object, expected: object) -> None:
    assert parse_cluster(raw(nodes=nodes)).node_ids == expected


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (raw(id=None), "'id' is missing"),
        (raw(id=""), "'id' is str"),
        (raw(id=42), "'id' is int"),
        (raw(name=None), "'name' is missing"),
        (raw(status=None), "'status' is missing"),
        (raw(status=["AVAILABLE"]), "'status' is list"),
        (raw(sub_status=["UNBALANCED"]), "'sub_status' is list"),
        (raw(tags="env=prod"), "'tags' is str"),
        (raw(tags=["env"]), "a tag is not a {key, value} object"),
        (raw(tags=[{"value": "x"}]), "a tag is not a {key, value} object"),
        (raw(tags=[{"key": 1, "value": "x"}]), "a tag key is not text"),
        (raw(maintain_window="Wed 22:00"), "'maintain_window' is str"),
        (
            raw(maintain_window={"day": "Someday", "start_time": "22:00", "end_time": "02:00"}),
            "day 'Someday'",
        ),
        (
            raw(maintain_window={"day": "Wed", "start_time": "25:00", "end_time": "02:00"}),
            "time '25:00'",
        ),
        (raw(maintain_window={"day": "Wed", "start_time": "22:00"}), "time None"),
    ],
)
def test_a_cluster_with_a_bad_field_is_malformed(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(problem)):
        parse_cluster(fields)


@pytest.mark.parametrize("obj", [None, "c-1", ["c-1"], 7])
def test_a_cluster_that_is_not_an_object_is_malformed(obj: object) -> None:
    with pytest.raises(MalformedResponseError, match="must be a JSON object"):
        parse_cluster(obj)


def test_error_names_the_cluster_when_it_has_an_id() -> None:
    with pytest.raises(MalformedResponseError, match="cluster c-9: 'name'"):
        parse_cluster(raw(id="c-9", name=None))


def test_list_returns_every_cluster_in_order() -> None:
    body = {"clusters": [raw(id="a"), raw(id="b", sub_status="NORMAL")], "count": 2}
    clusters = parse_cluster_list(body)
    assert [c.id for c in clusters] == ["a", "b"]
    assert [c.unbalanced for c in clusters] == [True, False]


def test_empty_list_is_an_empty_project() -> None:
    assert parse_cluster_list({"clusters": [], "count": 0}) == []


def test_one_bad_entry_is_skipped_and_reported_not_the_whole_list() -> None:
    skipped: list[MalformedResponseError] = []
    body = {"clusters": [raw(id="a"), {"id": "b"}, raw(id="c")], "count": 3}
    clusters = parse_cluster_list(body, on_skip=skipped.append)
    assert [c.id for c in clusters] == ["a", "c"]
    assert [str(e) for e in skipped] == [
        "clusters[1]: cluster b: 'name' is missing, expected non-empty text"
    ]


def test_every_entry_bad_is_an_error_not_an_empty_project() -> None:
    body = {"clusters": [{"id": "a"}, "junk"], "count": 2}
    with pytest.raises(MalformedResponseError, match="none of the 2 clusters could be read"):
        parse_cluster_list(body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (None, "expected a JSON object, got null"),
        ([], "expected a JSON object, got list"),
        ("clusters", "expected a JSON object, got str"),
        ({"count": 0}, "no 'clusters' field"),
        ({"clusters": "oops", "count": "many"}, "'clusters' is str, expected a list"),
        ({"clusters": None}, "'clusters' is null, expected a list"),
        ({"clusters": {"id": "a"}}, "'clusters' is dict, expected a list"),
    ],
)
def test_list_of_the_wrong_shape_is_malformed(body: object, problem: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(problem)):
        parse_cluster_list(body)


def test_detail_includes_the_maintenance_window_in_utc() -> None:
    window = {"day": "Wed", "start_time": "22:00", "end_time": "02:00"}
    cluster = parse_cluster_detail({"cluster": raw(maintain_window=window)})
    assert cluster.maintain_window == MaintainWindow("Wed", dt.time(22, 0), dt.time(2, 0))


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"day": "wed", "start_time": "1:30", "end_time": "03:00"}, ("Wed", (1, 30), (3, 0))),
        (
            {"day": "SUNDAY", "start_time": "22:00:00", "end_time": "23:59"},
            ("Sun", (22, 0), (23, 59)),
        ),
        ({"day": " Mon ", "start_time": " 00:00 ", "end_time": "00:00"}, ("Mon", (0, 0), (0, 0))),
    ],
)
def test_maintenance_window_spellings(
    window: dict[str, str], expected: tuple[str, tuple[int, int], tuple[int, int]]
) -> None:
    day, start, end = expected
    parsed = parse_cluster(raw(maintain_window=window)).maintain_window
    assert parsed == MaintainWindow(day, dt.time(*start), dt.time(*end))


@pytest.mark.parametrize(
    "window", [None, {}, {"day": None, "start_time": None, "end_time": None}, {"day": ""}]
)
def test_absent_or_empty_window_is_none(window: object) -> None:
    fields = raw()
    fields["maintain_window"] = window
    assert parse_cluster(fields).maintain_window is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"clusters": [raw()]}, "no 'cluster' field"),
        ({"cluster": ["oops"]}, "must be a JSON object, got list"),
        ("oops", "expected a JSON object, got str"),
    ],
)
def test_detail_of_the_wrong_shape_is_malformed(body: object, problem: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(problem)):
        parse_cluster_detail(body)
