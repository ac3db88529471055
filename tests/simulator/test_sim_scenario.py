"""Scenario files: the shipped default, every event and fault form, and clear errors for bad files."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sim_helpers import START

from controller.app.cli import main as cli_main
from controller.clock import ManualClock
from controller.model import Version
from controller.simulator.scenario import (
    ScenarioError,
    default_scenario_path,
    load_scenario,
)
from controller.simulator.world import SWITCHOVER_MIN_VERSION

FULL = """
project_id: p-1
credentials: {ak: AK1, sk: SK1}
iam_users: [{name: bob, password: pw, domain: d}]
start: 2026-01-01T00:00:00Z
token_ttl: 1h
clusters:
  - name: one
    id: c-1
    sub_status: UNBALANCED | READONLY
    load: 0.5
    tags: null
    switchover_outcome: fail_task
  - {name: two, flags: [NORMAL], maintain_window: {day: Sun, start_time: "01:00", end_time: "03:00"}}
events:
  - {at: 10s, action: unbalance, cluster: two, flags: [DEGRADED]}
  - {at: PT20S, action: task, cluster: one, task: SNAPSHOTTING, seconds: 5}
  - {at: 30s, action: set, cluster: one, fields: {load: 0.0, switchover_outcome: succeed}}
  - {at: 40s, action: external_switchover, cluster: one}
  - {at: 50s, action: balance, cluster: two}
  - {at: 1m, action: task, cluster: two, task: REBOOTING}
  - {at: 2m, action: clear_task, cluster: two}
faults:
  - {operation: list_clusters, kind: throttle, times: 2, params: {retry_after: 3}}
  - {at: 1m, operation: switchover, kind: lost_response}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_default_scenario_has_the_promised_clusters() -> None:
    clock = ManualClock(START)
    sim = load_scenario(default_scenario_path()).build(clock)
    by_name = {c.name: c for c in sim.clusters}
    sim.catch_up()
    supported = [
        c
        for c in sim.clusters
        if c.flags == {"UNBALANCED"} and c.version == "8.2.1.230" and not c.task_status
    ]
    assert supported, "an UNBALANCED cluster on 8.2.1.230 the controller can fix"
    assert Version.parse(by_name["dws-legacy"].version) < SWITCHOVER_MIN_VERSION
    assert by_name["dws-degraded"].sub_status == "DEGRADED | UNBALANCED"
    assert by_name["dws-snapshot"].task_status == "SNAPSHOTTING"
    assert by_name["dws-drifting"].flags == {"NORMAL"}
    clock.advance(dt.timedelta(minutes=3))
    sim.catch_up()
    assert by_name["dws-drifting"].flags == {"UNBALANCED"}
    assert by_name["dws-snapshot"].task_status is None
    assert sim.iam_users


def test_full_scenario_builds_and_plays(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, FULL))
    assert scenario.start == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    clock = ManualClock(scenario.start)
    sim = scenario.build(clock)
    one, two = sim.cluster("c-1"), sim.cluster("two")
    assert (sim.project_id, sim.ak, sim.sk) == ("p-1", "AK1", "SK1")
    assert sim.iam_users == {"bob": ("pw", "d")}
    assert sim.token_ttl == dt.timedelta(hours=1)
    assert (one.sub_status, one.load, one.tags, one.switchover_outcome) == (
        "UNBALANCED | READONLY", 0.5, None, "fail_task",
    )  # fmt: skip
    assert two.maintain_window == {"day": "Sun", "start_time": "01:00", "end_time": "03:00"}
    assert [(f.operation, f.times) for f in sim.faults.pending] == [("list_clusters", 2)]

    timeline = []
    for seconds in (10, 20, 25, 30, 40, 50, 60, 61, 120):
        clock.set(scenario.start + dt.timedelta(seconds=seconds))
        sim.catch_up()
        timeline.append((seconds, one.task_status, two.sub_status, two.task_status))
    assert timeline == [
        (10, None, "DEGRADED | UNBALANCED", None),
        (20, "SNAPSHOTTING", "DEGRADED | UNBALANCED", None),
        (25, None, "DEGRADED | UNBALANCED", None),
        (30, None, "DEGRADED | UNBALANCED", None),
        (40, "ACTIVE_STANDY_SWITCHOVER", "DEGRADED | UNBALANCED", None),
        (50, "ACTIVE_STANDY_SWITCHOVER", "DEGRADED", None),
        (60, None, "DEGRADED", "REBOOTING"),
        (61, None, "DEGRADED", "REBOOTING"),
        (120, None, "DEGRADED", None),
    ]
    assert one.flags == {"READONLY"}  # the 30 s `set` made the switchover succeed
    assert [f.kind for f in sim.faults.pending] == ["throttle", "lost_response"]


def test_cluster_id_defaults_to_a_stable_uuid(tmp_path: Path) -> None:
    path = write(tmp_path, "clusters: [{name: solo}]\n")
    first = load_scenario(path).build(ManualClock(START)).cluster("solo").id
    again = load_scenario(path).build(ManualClock(START)).cluster("solo").id
    assert first == again
    assert len(first) == 36


def test_overrides_replace_credentials_and_project() -> None:
    scenario = load_scenario(default_scenario_path()).with_overrides(
        ak="NEWAK", sk="NEWSK", project_id="newproject"
    )
    sim = scenario.build(ManualClock(START))
    assert (sim.ak, sim.sk, sim.project_id) == ("NEWAK", "NEWSK", "newproject")
    assert len(sim.clusters) == 5


def test_bad_override_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="project_id"):
        load_scenario(default_scenario_path()).with_overrides(project_id="has spaces/slash")


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("clusters: [{name: a, load: 2}]", ["clusters.0.load"]),
        ("clusters: [{name: a, colour: red}]", ["clusters.0.colour", "Extra inputs"]),
        ("clusters: [{version: 8.2.1.230}]", ["clusters.0.name", "Field required"]),
        ("clusters: [{name: a, switchover_outcome: maybe}]", ["clusters.0.switchover_outcome"]),
        ("clusters: [{name: a, maintain_window: {day: Someday, start_time: '01:00', end_time: '02:00'}}]",
         ["clusters.0.maintain_window.day"]),
        ("clusters: [{name: a, maintain_window: {day: Mon, start_time: '25:00', end_time: '02:00'}}]",
         ["clusters.0.maintain_window.start_time"]),
        ("clusters: [{name: a}]\nevents: [{at: soon, action: balance, cluster: a}]", ["events.0", "not a duration"]),
        ("clusters: [{name: a}]\nevents: [{at: 1s, action: explode, cluster: a}]", ["events.0", "action"]),
        ("clusters: [{name: a}]\nevents: [{at: 1s, action: balance, cluster: b}]", ["events.0.cluster", "'b'"]),
        ("clusters: [{name: a}]\nevents: [{at: 1s, action: set, cluster: a, fields: {id: x}}]", ["events.0.set.fields.id"]),
        ("faults: [{operation: list_clusters, kind: explode}]", ["faults.0", "unknown fault kind"]),
        ("faults: [{operation: list_clusters, kind: reset, times: 0}]", ["faults.0.times"]),
        ("start: 2026-01-01T00:00:00", ["start", "timezone"]),
        ("surprise: 1", ["surprise"]),
        ("credentials: {ak: AK, sk: very-secret-value, extra: 1}", ["credentials.extra"]),
    ],
)  # fmt: skip
def test_bad_scenario_names_file_and_field(tmp_path: Path, text: str, mentions: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in mentions:
        assert fragment in message
    assert "very-secret-value" not in message


UNUSABLE = [
    (b"clusters: [unclosed", "is not valid YAML at line 1"),
    (b"- just\n- a list\n", "must hold a mapping, not list"),
    (b"# nothing\n", "is empty"),
    (b"project_id: caf\xe9\n", r"is not UTF-8 text \(byte 0xe9 at offset 15\)"),
    (b'project_id: "a\x01"\n', "is not valid YAML: character 0x01 is not allowed"),
    (b"start: 2026-13-01T00:00:00Z\n", "impossible date or time: month must be in 1..12"),
    (b"start: 2026-02-30\n", "impossible date or time: day is out of range"),
    (b"clusters: [{name: a, created: 2026-01-01 00:00:00+25:00}]\n", "impossible date or time"),
    (b"[" * 5000 + b"]" * 5000, "is nested too deeply"),
    (b"null: 1\n", "keys must be names, not None"),
    (b"clusters: [{name: a}, {name: a, id: other}]", r"clusters\.1: duplicate cluster name"),
    (b"clusters: [{name: a, id: x}, {name: b, id: x}]", r"clusters\.1: duplicate .* 'x'"),
]


@pytest.mark.parametrize(("content", "mentions"), UNUSABLE, ids=[m for _, m in UNUSABLE])
def test_unusable_files(tmp_path: Path, content: bytes, mentions: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=mentions) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_one_problem_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "clusters: [{name: a, load: 2}]")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"scenario file {path} is invalid: clusters.0.load: ")
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"cannot read scenario file .*nope\.yaml"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=f"cannot read scenario file {tmp_path}: "):
        load_scenario(tmp_path)


@pytest.mark.parametrize(("content", "mentions"), UNUSABLE, ids=[m for _, m in UNUSABLE])
def test_cli_reports_an_unusable_file_in_one_line_and_exits_2(
    tmp_path: Path, content: bytes, mentions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    assert cli_main(["simulator", "--scenario", str(path), "--port", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: scenario file {path}")
    assert captured.err.count("\n") == 1


def test_python_m_controller_simulator_refuses_a_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("project_id: café\n".encode("latin-1"))
    done = subprocess.run(
        [sys.executable, "-m", "controller", "simulator", "--scenario", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr == f"error: scenario file {path} is not UTF-8 text (byte 0xe9 at offset 15)\n"
    )


def test_duplicates_are_still_refused_by_build() -> None:
    # a Scenario made in code skips nothing: build() still names the duplicate
    scenario = load_scenario(default_scenario_path())
    twice = scenario.model_copy(update={"clusters": [*scenario.clusters, scenario.clusters[0]]})
    with pytest.raises(ScenarioError, match="duplicate"):
        twice.build(ManualClock(START))
