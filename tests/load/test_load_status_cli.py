"""`status CLUSTER` under `load.schedule: quietest`, against the emulator on a real socket: the
learned profile as a 7 x 24 heat-map and the quietest allowed hour with its expected load."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.app.cli import main
from controller.clock import SystemClock
from controller.simulator.cloudeye import CloudEyeSpec
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

AK, SK, PROJECT = "STATUSAK000000000001", "status-secret-key-value", "status-project"
#: A nightly peak 00:00-02:00 UTC inside the 00:00-06:00 window: the quiet hours are 02-05.
CURVES = {
    "clusters": {
        "etl": {
            "timezone": "UTC",
            "metrics": {
                "dws008_active_sql_count": {
                    "base": 4,
                    "peaks": [{"start": "00:00", "end": "02:00", "value": 40}],
                }
            },
        }
    }
}


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    sim = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    sim.add_cluster(id="c-etl", name="etl", flags={"UNBALANCED"})
    sim.add_cluster(id="c-idle", name="idle", flags={"NORMAL"})
    CloudEyeSpec.model_validate(CURVES).install(sim.cloud_eye, {"etl": "c-etl"})
    with BackgroundServer(sim) as server:
        path = tmp_path / "config.yaml"
        path.write_text(
            f"""
endpoint: {server.url}
project_id: {PROJECT}
auth: {{ak: {AK}, sk: {SK}}}
journal_path: {tmp_path / "journal.db"}
log_format: json
policy:
  min_unbalanced_duration: 0s
  windows: [{{start: "00:00", end: "06:00", timezone: UTC}}]
  load:
    schedule: quietest
    cloud_eye: {{endpoint: "{server.url}", limits: {{dws008_active_sql_count: 20}}}}
"""
        )
        yield path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_of_a_cluster_shows_its_heat_map_and_chosen_hour(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "etl", "--config", str(config))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("etl ")  # only the named cluster, then its profile
    assert not any(line.startswith("idle") for line in lines)
    start = lines.index(next(line for line in lines if line.startswith("load profile of etl")))
    header, *days, _legend, chosen = lines[start + 1 : start + 11]
    assert header.split() == ["012345678901234567890123", "(UTC)"]
    assert [day[:3] for day in days] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    cells = [day[5:] for day in days]
    assert all(len(row) == 24 for row in cells)
    # The peak hours are the busiest shade; the quiet ones blank.
    assert {row[0] + row[1] for row in cells} == {"@@"}
    assert {row[2:6] for row in cells} == {"    "}
    match = re.fullmatch(
        r"quietest allowed hour: (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d\d):00 local "
        r"\(\d{4}-\d\d-\d\d \d\d:00 UTC\), expected load 0\.20 of the tightest limit",
        chosen,
    )
    assert match, chosen
    assert 2 <= int(match[2]) <= 5
    assert "awaiting_quiet_slot" in lines[1] or "eligible" in lines[1]


def test_status_of_a_cluster_as_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "status", "c-etl", "--config", str(config), "--output", "json")
    assert code == 0, err
    view, profile = map(json.loads, out.splitlines())
    assert view["cluster_name"] == "etl"
    assert profile["load_profile"]["zone"] == "UTC"
    assert len(profile["load_profile"]["expected"]) == 7 * 24
    assert profile["quietest"]["expected"] == pytest.approx(0.2)
    assert 2 <= profile["quietest"]["hour"] <= 5


def test_status_of_an_unknown_cluster_is_one_line_and_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "nope", "--config", str(config))
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == "dws-rebalancer: no cluster 'nope' in the project"
    assert "Traceback" not in err
