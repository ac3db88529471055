"""Builders and helpers shared by the journal tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

from controller.journal import Journal
from controller.model import Action, Decision, Outcome, Reason, SwitchoverRecord, Trigger

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[2]


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def record(
    cluster: str = "c1",
    *,
    started: dt.datetime = T0,
    name: str | None = None,
    trigger: Trigger = Trigger.CONTROLLER,
    confirmed: bool = True,
) -> SwitchoverRecord:
    return SwitchoverRecord(
        cluster, name or f"name-{cluster}", trigger, started=started, confirmed=confirmed
    )


def decision(
    cluster: str = "c1",
    action: Action = Action.BLOCKED,
    reason: Reason = Reason.COOLDOWN,
    *,
    when: dt.datetime = T0,
    detail: str = "",
    name: str | None = None,
) -> Decision:
    return Decision(cluster, name or f"name-{cluster}", action, reason, detail, when)


def finished(
    journal: Journal, cluster: str, outcome: Outcome, started: dt.datetime
) -> SwitchoverRecord:
    """A switchover that started at `started` and ended a minute later with `outcome`."""
    begun = journal.begin_switchover(record(cluster, started=started))
    assert begun.id is not None
    return journal.finish_switchover(
        begun.id,
        ended=started + dt.timedelta(minutes=1),
        outcome=outcome,
        interruption_seconds=None,
    )


def snapshot(directory: Path) -> dict[str, str]:
    """Every file in `directory` with the hash of its bytes: proof that nothing was touched."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def crash_after(path: Path, body: str) -> None:
    """Run `body` (with `journal` open on `path`) in a child that dies without closing anything."""
    script = textwrap.dedent(
        f"""
        import datetime as dt, os
        from controller.journal import Journal
        from controller.model import *
        T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
        journal = Journal.open({str(path)!r}, now=T0)
        """
    )
    script += textwrap.dedent(body) + "\nos._exit(9)\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert done.returncode == 9
