"""Guards on the cluster and the operator's choices: listing, pause, selection, state, version."""

from __future__ import annotations

import pytest
from guardkit import cases, cluster, policy, utc

from controller.guards.listing import listing_guard
from controller.guards.pause import pause_guard
from controller.guards.selection import selection_guard
from controller.guards.state import state_guard
from controller.guards.version import version_guard
from controller.model import History, Reason, Version

NOW = utc("2026-11-30 02:00")


@pytest.mark.parametrize(("copies", "allowed"), [(1, True), (2, False), (5, False)])
def test_listing_blocks_an_id_listed_more_than_once(copies, allowed):
    result = listing_guard(cluster(listing_copies=copies), History(), policy(), NOW)
    assert result.allowed is allowed
    if not allowed:
        assert result.reason is Reason.AMBIGUOUS_LISTING
        assert result.detail == f"cluster id c-1 appears {copies} times in one list answer"
        assert result.next_eligible is None


def test_pause_blocks_with_the_reason():
    result = pause_guard(
        cluster(), History(paused=True, pause_reason="incident 4711"), policy(), NOW
    )
    assert result.reason is Reason.PAUSED
    assert "incident 4711" in result.detail
    assert result.next_eligible is None
    assert pause_guard(cluster(), History(), policy(), NOW).allowed


SELECTION_CASES = [
    ("default-includes-all", {}, {}, None),
    ("include-by-id", {"include": ["c-1"]}, {}, None),
    ("include-by-name", {"include": ["sales-dw"]}, {}, None),
    ("include-by-pattern", {"include": ["sales-*"]}, {}, None),
    ("not-included", {"include": ["etl-*", "c-9"]}, {}, Reason.EXCLUDED),
    ("exclude-by-id", {"exclude": ["c-1"]}, {}, Reason.EXCLUDED),
    ("exclude-by-pattern", {"exclude": ["*-dw"]}, {}, Reason.EXCLUDED),
    (
        "exclude-wins-over-include",
        {"include": ["sales-dw"], "exclude": ["sales-*"]},
        {},
        Reason.EXCLUDED,
    ),
    ("opt-out-tag", {}, {"dws-rebalancer": "disabled"}, Reason.OPTED_OUT),
    ("opt-out-tag-any-case", {}, {"dws-rebalancer": " Disabled"}, Reason.OPTED_OUT),
    ("other-tag-value", {}, {"dws-rebalancer": "enabled"}, None),
    (
        "custom-opt-out-tag",
        {"opt_out_tag": {"key": "team", "value": "hands-off"}},
        {"team": "hands-off"},
        Reason.OPTED_OUT,
    ),
    ("opt-out-disabled", {"opt_out_tag": None}, {"dws-rebalancer": "disabled"}, None),
]


@pytest.mark.parametrize(("selection", "tags", "expected"), cases(SELECTION_CASES))
def test_selection(selection, tags, expected):
    result = selection_guard(cluster(tags=tags), History(), policy(selection=selection), NOW)
    assert result.reason is expected
    assert result.allowed is (expected is None)


def test_selection_detail_names_the_matching_pattern():
    result = selection_guard(
        cluster(), History(), policy(selection={"exclude": ["x", "sales-*"]}), NOW
    )
    assert "'sales-*'" in result.detail


STATE_CASES = [
    ("available", {}, {}, None),
    ("active-is-available", {"status": "ACTIVE"}, {}, None),
    ("frozen", {"status": "FROZEN"}, {}, Reason.CLUSTER_NOT_AVAILABLE),
    (
        "not-available-wins-over-task",
        {"status": "FAILED", "task_status": "SNAPSHOTTING"},
        {},
        Reason.CLUSTER_NOT_AVAILABLE,
    ),
    (
        "switchover-running",
        {"task_status": "ACTIVE_STANDY_SWITCHOVER"},
        {},
        Reason.SWITCHOVER_IN_PROGRESS,
    ),
    (
        "switchover-failed-task",
        {"task_status": "ACTIVE_STANDY_SWITCHOVER_FAILURE"},
        {},
        Reason.TASK_IN_PROGRESS,
    ),
    ("snapshotting", {"task_status": "SNAPSHOTTING"}, {}, Reason.TASK_IN_PROGRESS),
    ("unknown-task-is-busy", {"task_status": "SOMETHING_NEW"}, {}, Reason.TASK_IN_PROGRESS),
    (
        "redistributing-flag",
        {"sub_status": frozenset({"UNBALANCED", "REDISTRIBUTING"})},
        {},
        Reason.TASK_IN_PROGRESS,
    ),
    ("degraded", {"sub_status": frozenset({"UNBALANCED", "DEGRADED"})}, {}, Reason.DEGRADED),
    (
        "degraded-allowed",
        {"sub_status": frozenset({"UNBALANCED", "DEGRADED"})},
        {"allow_degraded": True},
        None,
    ),
    ("readonly", {"sub_status": frozenset({"UNBALANCED", "READONLY"})}, {}, Reason.READONLY),
    (
        "readonly-allowed",
        {"sub_status": frozenset({"UNBALANCED", "READONLY"})},
        {"allow_readonly": True},
        None,
    ),
    ("unknown-flag-ignored", {"sub_status": frozenset({"UNBALANCED", "SHINY"})}, {}, None),
]


@pytest.mark.parametrize(("changes", "fields", "expected"), cases(STATE_CASES))
def test_state(changes, fields, expected):
    result = state_guard(cluster(**changes), History(), policy(**fields), NOW)
    assert result.reason is expected
    assert result.allowed is (expected is None)


def _version(text):
    return {"version": Version.parse(text), "raw_version": text}


VERSION_CASES = [
    ("at-dws-floor", _version("8.1.1.202"), "8.1.1.202", True),
    ("below-dws-floor", _version("8.1.1.201"), "8.1.1.202", False),
    ("three-segments-below", _version("8.1.1"), "8.1.1.202", False),
    ("newer", _version("9.1.0.200"), "8.1.1.202", True),
    ("lower-min-cannot-go-below-floor", _version("8.1.1.100"), "8.0.0", False),
    ("lower-min-above-floor-ok", _version("8.1.3.0"), "8.0.0", True),
    ("higher-min-blocks", _version("8.1.3.0"), "8.2.1", False),
    ("higher-min-three-segments-equal", _version("8.2.1.0"), "8.2.1", True),
    ("unparseable", {"version": None, "raw_version": "eight"}, "8.1.1.202", False),
    ("absent", {"version": None, "raw_version": ""}, "8.1.1.202", False),
]


@pytest.mark.parametrize(("changes", "minimum", "allowed"), cases(VERSION_CASES))
def test_version(changes, minimum, allowed):
    result = version_guard(cluster(**changes), History(), policy(min_version=minimum), NOW)
    assert result.allowed is allowed
    if not allowed:
        assert result.reason is Reason.VERSION_UNSUPPORTED


@pytest.mark.parametrize(
    ("changes", "minimum", "words"),
    [
        (
            _version("8.1.1.100"),
            "8.0.0",
            "below the minimum 8.1.1.202 (the DWS floor; min_version 8.0.0 is lower)",
        ),
        (_version("8.1.3.0"), "8.2.1", "below the minimum 8.2.1 (min_version)"),
        (
            {"version": None, "raw_version": "eight"},
            "8.1.1.202",
            "version 'eight' is not a DWS version",
        ),
        ({"version": None, "raw_version": ""}, "8.1.1.202", "'(none reported)'"),
    ],
    ids=["floor", "configured", "unparseable", "absent"],
)
def test_version_detail_shows_raw_version_and_minimum(changes, minimum, words):
    assert (
        words
        in version_guard(cluster(**changes), History(), policy(min_version=minimum), NOW).detail
    )
