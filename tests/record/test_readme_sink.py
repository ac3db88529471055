"""The "A new sink" example of docs/extending.md, extracted and run against the real Recorder."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from controller.model import Outcome, SwitchoverRecord, Trigger
from controller.record.events import ClusterGone, SwitchoverFinished
from controller.record.recorder import Recorder

EXTENDING = Path(__file__).parents[2] / "docs" / "extending.md"
NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def docs_sink() -> type:
    section = EXTENDING.read_text().split("## A new sink", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/extending.md", "exec"), namespace)
    sink = namespace["PrintSink"]
    assert isinstance(sink, type)
    return sink


def test_the_docs_sink_prints_one_line_per_finished_switchover(
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorder = Recorder([docs_sink()()])
    done = SwitchoverRecord(
        "c1", "sales", Trigger.CONTROLLER, started=NOW, id=1, ended=NOW, outcome=Outcome.SUCCEEDED
    )
    recorder.record(ClusterGone("c2", "etl"))
    recorder.record(SwitchoverFinished(done))
    assert capsys.readouterr().out == "sales: switchover succeeded\n"
