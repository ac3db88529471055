"""Only `controller/clock.py` reads the wall clock: everything else is handed `now` or a Clock."""

from __future__ import annotations

import ast
from pathlib import Path

import controller

PACKAGE = Path(controller.__file__).parent
#: Calls that read the wall (or monotonic) clock, as `module.function` or `Class.method`.
CLOCK_READERS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def clock_reads(source: str) -> list[int]:
    """Line numbers of calls like `dt.datetime.now()`, `datetime.now(tz)`, `time.time()`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        # `from time import time` would hide the read behind a bare `time()` call
        if isinstance(node, ast.ImportFrom) and any(
            (node.module, alias.name) in CLOCK_READERS for alias in node.names
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (name, node.func.attr) in CLOCK_READERS:
                lines.append(node.lineno)
    return lines


def test_the_scan_finds_every_spelling() -> None:
    source = (
        "import time\nx = dt.datetime.now(dt.UTC)\ny = datetime.utcnow()\nz = time.monotonic()\n"
    )
    assert clock_reads(source) == [2, 3, 4]
    assert clock_reads("from time import monotonic as m\nfrom time import sleep\n") == [1]
    assert clock_reads("clock.now()\nsettings.time.zone\n") == []


def test_only_clock_py_reads_the_wall_clock() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "clock.py":
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        offenders += [
            f"{path.relative_to(PACKAGE.parent)}:{n}: {lines[n - 1].strip()}"
            for n in sorted(clock_reads(source))
        ]
    assert offenders == [], "read the time through controller.clock instead"
