"""The README's first quick-start command: `dws-rebalancer demo` shows every promised behaviour,
reads well (an introduction first, one time zone, the final state), and stops cleanly on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from controller.app.demo import NO_PROBE
from controller.simulator import postgres

pytestmark = pytest.mark.e2e

DEMO = [sys.executable, "-m", "controller", "demo", "--listen", "127.0.0.1:0"]
#: A narrated line: `[Sun 16:48:27 UTC] sales-dw ...`.
STAMPED = re.compile(r"^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d:\d\d UTC\] ")


def test_demo_shows_everything_it_promises() -> None:
    proc = subprocess.run(
        [*DEMO, "--speed", "120"], capture_output=True, text=True, timeout=90, check=False
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]
    lines = out.splitlines()

    def shown(cluster: str, *words: str) -> bool:
        return any(cluster in line and all(w in line for w in words) for line in lines)

    assert shown("sales-dw", "outside_window", "next eligible")
    assert shown("legacy-dw", "version_unsupported")
    assert shown("risk-dw", "degraded")
    assert shown("report-dw", "task_in_progress")
    assert shown("report-dw", "load_high", "dws008_active_sql_count 40 > limit 20")
    # Under `schedule: quietest`, batch-dw waits for 03:00 Shanghai (19:00 UTC), its quietest
    # hour in the window, rather than the window's busy 01:00 opening.
    assert shown(
        "batch-dw",
        "awaiting_quiet_slot",
        "the quietest allowed hour is Mon 03:00 local, at 2026-11-29 19:00 UTC",
        "next eligible Sun 19:00:00 UTC",
    )
    assert shown("sales-dw", "switchover succeeded", "interruption")
    assert shown("etl-dw", "not_unbalanced")
    assert shown("etl-dw", "debouncing")
    assert shown("etl-dw", "switchover succeeded")
    # People in the loop: crm-dw's switchover is announced, the notification reaches the local
    # receiver, a person vetoes it, and the next slot is announced and runs.
    planned = [line for line in lines if "[notify] Switchover planned for crm-dw" in line]
    assert len(planned) == 2, out
    assert "2026-11-29 17:03 UTC" in planned[0]
    assert "2026-11-29 17:17 UTC" in planned[1]
    assert shown("crm-dw", "$ dws-rebalancer veto crm-dw")
    assert shown("crm-dw", "vetoed: crm-dw will not switch over until 2026-11-29 17:07 UTC")
    assert shown("crm-dw", "approval", "vetoed")
    assert shown("crm-dw", "blocked", "vetoed", "vetoed by alice", "next eligible Sun 17:17")
    assert shown("crm-dw", "approval", "approved", "slot Sun 17:17")
    assert shown("crm-dw", "switchover succeeded")
    order = [
        next(i for i, line in enumerate(lines) if all(w in line for w in words))
        for words in (
            ("[notify] Switchover planned for crm-dw", "17:03"),
            ("$ dws-rebalancer veto crm-dw",),
            ("crm-dw", "approval", "vetoed"),
            ("[notify] Switchover planned for crm-dw", "17:17"),
            ("crm-dw", "switchover started"),
            ("[notify] Switchover started on crm-dw",),
        )
    ]
    assert order == sorted(order), order
    for name in ("sales-dw", "etl-dw", "report-dw", "crm-dw"):
        assert f"[notify] Switchover succeeded on {name}" in out
    assert "metrics on http://127.0.0.1:" in out
    assert "Traceback" not in proc.stderr
    # Read as a user would: an introduction first, no warning anywhere.
    assert lines[0].startswith("dws-rebalancer demo: the real controller"), lines[0]
    assert proc.stderr == "", proc.stderr
    # One time zone per line, never the ambiguous "CST".
    assert "CST" not in out
    narrated = [line for line in lines if line.startswith("[")]
    assert len(narrated) > 10
    assert all(STAMPED.match(line) for line in narrated), narrated
    assert not [line for line in narrated if "+08:00" in line]
    # The summary shows each cluster as it ended up: etl-dw balanced after its switchover.
    summary = lines[next(i for i, line in enumerate(lines) if line.startswith("summary at ")) :]
    rows = {row.split()[0]: row for row in summary[1:] if row.startswith("  ")}
    assert sorted(rows) == [
        "batch-dw",
        "crm-dw",
        "etl-dw",
        "legacy-dw",
        "report-dw",
        "risk-dw",
        "sales-dw",
    ]
    assert "blocked/awaiting_quiet_slot" in rows["batch-dw"]
    for name in ("etl-dw", "sales-dw", "report-dw", "crm-dw"):
        assert "none/not_unbalanced" in rows[name], rows[name]
        assert "last switchover succeeded, interruption" in rows[name], rows[name]
    assert "blocked/version_unsupported" in rows["legacy-dw"]
    assert "no switchover" in rows["risk-dw"]
    # Both interruptions, when a real PostgreSQL can stand in for the SQL endpoint.
    if postgres.unavailable_reason() is None:
        assert shown("sales-dw", "clients could not work for", "DWS's task took")
        assert shown("etl-dw", "clients could not work for", "DWS's task took")
        for name in ("etl-dw", "sales-dw"):
            assert re.search(r"interruption \d+s, clients \d+s$", rows[name]), rows[name]
    else:
        assert NO_PROBE in out


@pytest.mark.parametrize(
    "marker",
    ["dws-rebalancer demo:", "blocked    debouncing", "switchover started"],
    ids=["at-start", "mid-demo", "switchover-in-flight"],
)
def test_ctrl_c_stops_the_demo_with_exit_0_and_a_note(marker: str) -> None:
    proc = subprocess.Popen(
        [*DEMO, "--speed", "240"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            proc.send_signal(signal.SIGINT)
            break
    try:
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    out = "".join(seen) + rest
    assert marker in out, out
    assert proc.returncode == 0, out + err
    assert out.rstrip().endswith("demo interrupted (Ctrl-C)"), out
    assert "summary at" not in out
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
