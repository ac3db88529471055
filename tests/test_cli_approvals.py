"""`approve` and `veto` beside a controller holding the journal: rows, messages, bad input exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.clock import SystemClock
from controller.journal import ActorLock, ApprovalKind, Journal
from controller.simulator.server import BackgroundServer
from controller.simulator.world import Simulator
from tests.test_cli import AK, PROJECT, SK, run, write_config

MANUAL = "overrides: [{match: sales, policy: {approval: manual}}, {match: etl, policy: {approval: announce}}]"


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    world = Simulator(SystemClock(), project_id=PROJECT, ak=AK, sk=SK)
    world.add_cluster(id="c-sales", name="sales", flags={"UNBALANCED"})
    world.add_cluster(id="c-etl", name="etl", flags={"UNBALANCED"})
    world.add_cluster(id="c-web", name="web", flags={"NORMAL"})
    with BackgroundServer(world) as server:
        path = write_config(tmp_path, server.url, MANUAL)
        assert run(capsys, "once", "--config", str(path))[0] == 0
        # A running controller holds the actor lock and its own connection meanwhile.
        journal = tmp_path / "journal.db"
        with ActorLock.acquire(journal), Journal.open(journal, now=SystemClock().now()):
            yield path


def rows(config: Path) -> list[tuple[str, str, str | None, str | None]]:
    with Journal.open_read_only(config.parent / "journal.db") as journal:
        said = [r for r in journal.approval_entries() if r.kind is not ApprovalKind.ANNOUNCEMENT]
    return [(r.kind.value, r.cluster_id, r.by, r.reason) for r in said]


def test_approve_beside_a_running_controller(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "approve", "sales", "--config", str(config), "--actor", "bob", "--reason", "CHG-1"
    )
    assert (code, err) == (0, "")
    assert out.startswith("approved: sales may switch over once")
    assert rows(config) == [("approval", "c-sales", "bob", "CHG-1")]
    code, out, _ = run(capsys, "history", "--config", str(config), "--cluster", "sales")
    assert "sales  approval by bob until" in out
    assert out.rstrip().endswith(": CHG-1")


def test_the_actor_defaults_to_the_os_user(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import getpass

    assert run(capsys, "veto", "etl", "--until", "2h", "--config", str(config))[0] == 0
    [(kind, cluster, by, _)] = rows(config)
    assert (kind, cluster, by) == (ApprovalKind.VETO.value, "c-etl", getpass.getuser())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve", "nope"], "no cluster 'nope' in the journal"),
        (["approve", "sales", "--until", "2020-01-01T00:00+00:00"], "is not in the future"),
        (["approve", "sales", "--until", "soon"], "--until: not a duration: 'soon'"),
        (["approve", "sales", "--until", "2026-13-01T00:00+00:00"], "not an ISO-8601 time"),
        (["approve", "sales", "--until", "2026-12-01T00:00"], "needs a UTC offset"),
        (["approve", "etl"], "etl is under approval: announce; approve is for approval: manual"),
        (["veto", "web"], "web is under approval: auto"),
        (["veto", "sales"], "nothing is announced for sales: give --until"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    config: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *args, "--config", str(config))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err
    assert rows(config) == []


def test_a_default_veto_covers_the_announced_slot(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `once` announced etl (approval: announce, no window): the veto finds that slot.
    code, out, _ = run(capsys, "veto", "etl", "--config", str(config), "--reason", "close")
    assert code == 0
    assert out.startswith("vetoed: etl will not switch over until")
    assert "(the slot " in out
    with Journal.open_read_only(config.parent / "journal.db") as journal:
        announced, vetoed = journal.approval_entries(cluster_id="c-etl")
    assert (vetoed.slot, vetoed.until) == (announced.slot, announced.until)


def test_completion_knows_the_new_verbs(tmp_path: Path) -> None:
    from tests.test_cli_completion import _bash_complete

    assert _bash_complete(tmp_path, "dws-rebalancer ap") == ["approve"]
    assert _bash_complete(tmp_path, "dws-rebalancer ve") == ["veto"]
    assert {"--until", "--reason", "--actor"} <= set(
        _bash_complete(tmp_path, "dws-rebalancer veto --")
    )
