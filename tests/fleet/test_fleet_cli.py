"""The command line with a fleet: `once` cycles every target, `--target` picks one, a cluster is
also named `TARGET/CLUSTER` (names repeat across projects), `history --target` filters, and a
fleet-wide `max_concurrent_total` holds the targets together."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.app.cli import main
from controller.clock import SystemClock
from controller.journal import Journal
from controller.logs import REDACTED, scrub
from controller.simulator.region import Region
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e

AK, SK = "FLEETCLIAK0000000001", "fleet-cli-secret-key"


def project(project_id: str) -> Simulator:
    sim = Simulator(SystemClock(), project_id=project_id, ak=AK, sk=SK)
    sim.add_cluster(id=f"{project_id}-sales", name="sales", flags={"UNBALANCED"})
    sim.add_cluster(id=f"{project_id}-idle", name="idle", flags={"NORMAL"})
    return sim


@pytest.fixture
def sims() -> dict[str, Simulator]:
    return {"bj": project("p-bj"), "sh": project("p-sh")}


@pytest.fixture
def config(sims: dict[str, Simulator], tmp_path: Path) -> Iterator[Path]:
    with BackgroundServer(Region("r", list(sims.values()))) as server:
        path = tmp_path / "config.yaml"
        path.write_text(
            f"""
endpoint: {server.url}
auth: {{ak: {AK}, sk: {SK}}}
journal_path: {tmp_path / "journal.db"}
log_format: json
policy: {{windows: [], use_maintenance_window: false, min_unbalanced_duration: 0s}}
targets:
  - {{name: bj, project_id: p-bj}}
  - {{name: sh, project_id: p-sh}}
"""
        )
        yield path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_once_cycles_every_target_and_names_it(
    config: Path, sims: dict[str, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "once", "-c", str(config), "-o", "json")
    assert code == 0, err
    decided = {(r["target"], r["cluster_name"]): r["reason"] for r in rows(out)}
    assert decided == {
        ("bj", "sales"): "eligible",
        ("bj", "idle"): "not_unbalanced",
        ("sh", "sales"): "eligible",
        ("sh", "idle"): "not_unbalanced",
    }
    assert [len(s.switchovers) for s in sims.values()] == [1, 1]


def test_target_picks_one_and_history_filters_by_it(
    config: Path, sims: dict[str, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "once", "-c", str(config), "--target", "sh")
    assert code == 0, err
    assert out.startswith("target sh:\n")
    assert (len(sims["bj"].switchovers), len(sims["sh"].switchovers)) == (0, 1)
    with Journal.open_read_only(config.parent / "journal.db") as journal:
        assert set(journal.owned_targets()) == {"bj", "sh"}  # one picked, none forgotten
    code, out, _ = run(capsys, "history", "-c", str(config), "--target", "bj", "-o", "json")
    assert (code, rows(out)) == (0, [])
    code, out, _ = run(capsys, "history", "-c", str(config), "--target", "sh", "-o", "json")
    assert {r["cluster_id"] for r in rows(out)} == {"p-sh-sales", "p-sh-idle"}


def test_a_cluster_named_with_its_target(
    config: Path, sims: dict[str, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "bj/sales", "-c", str(config), "-o", "json")
    assert code == 0, err
    (view,) = rows(out)
    assert (view["target"], view["cluster_id"]) == ("bj", "p-bj-sales")
    code, out, err = run(capsys, "switchover", "sh/sales", "-c", str(config))
    assert code == 0, err
    assert [p.cluster_id for p in sims["sh"].switchovers] == ["p-sh-sales"]
    assert sims["bj"].switchovers == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "sales"], "'sales' names clusters of targets bj, sh: say TARGET/NAME"),
        (["switchover", "sales"], "which target? say TARGET/CLUSTER or --target (bj, sh)"),
        (["once", "--target", "gz"], "no target 'gz' here (targets: bj, sh)"),
        (["status", "bj/sales", "--target", "sh"], "is in target bj, but --target says sh"),
    ],
)
def test_ambiguous_or_unknown_targets_are_one_line_and_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args, "-c", str(config))
    assert code == 2, (out, err)
    assert message in err.splitlines()[-1]
    assert "Traceback" not in err


def test_max_concurrent_total_holds_the_targets_together(
    config: Path, sims: dict[str, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(config.read_text() + "max_concurrent_total: 1\n")
    code, out, err = run(capsys, "once", "-c", str(config), "-o", "json")
    assert code == 0, err
    decided = {r["target"]: r for r in rows(out) if r["cluster_name"] == "sales"}
    assert decided["bj"]["reason"] == "eligible"
    assert decided["sh"]["reason"] == "concurrency_limit"
    assert decided["sh"]["detail"] == (
        "1 switchover(s) running across the targets (max_concurrent_total 1)"
    )
    assert sum(len(s.switchovers) for s in sims.values()) == 1


def test_a_target_s_own_secret_is_masked_like_the_top_level_one(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = "bj-only-secret-key-0123"
    text = config.read_text().replace(
        "{name: bj, project_id: p-bj}",
        f"{{name: bj, project_id: p-bj, auth: {{ak: {AK}, sk: {own}}}}}",
    )
    config.write_text(text)
    code, _, err = run(capsys, "once", "-c", str(config), "--target", "sh")
    assert code == 0, err
    assert scrub(f"signed with {own}") == f"signed with {REDACTED}"
