"""The README's first quick-start command: `dws-rebalancer demo` shows every promised behaviour."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_demo_shows_everything_it_promises() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "demo", "--listen", "127.0.0.1:0", "--speed", "120"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
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
    assert shown("sales-dw", "switchover succeeded", "interruption")
    assert shown("etl-dw", "not_unbalanced")
    assert shown("etl-dw", "debouncing")
    assert shown("etl-dw", "switchover succeeded")
    assert "metrics on http://127.0.0.1:" in out
    assert "summary:" in out
    assert "Traceback" not in proc.stderr
