"""`dws-rebalancer completion bash|zsh`: the scripts load in the real shells and complete verbs, options and choices."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from controller.app.cli import build_parser

CLI = [sys.executable, "-m", "controller"]


def _script(shell: str, tmp_path: Path) -> Path:
    done = subprocess.run(
        [*CLI, "completion", shell], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    path = tmp_path / f"completion.{shell}"
    path.write_text(done.stdout)
    return path


def _shell(shell: str, script: str) -> str:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed")
    flags = ["--norc", "--noprofile"] if shell == "bash" else ["-f"]
    done = subprocess.run(
        [path, *flags, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _bash_complete(tmp_path: Path, line: str) -> list[str]:
    """What bash offers after `line` (ending in a space or a partial word), via the real script."""
    script = _script("bash", tmp_path)
    words = line.split() + ([""] if line.endswith(" ") else [])
    program = (
        f"source {script}\n"
        "fn=$(complete -p dws-rebalancer | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}\n"
        '"$fn" dws-rebalancer "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    return sorted(word.strip() for word in _shell("bash", program).splitlines() if word.strip())


def test_bash_registers_a_completion_function(tmp_path: Path) -> None:
    script = _script("bash", tmp_path)
    registered = _shell("bash", f"source {script}\ncomplete -p dws-rebalancer\n")
    assert re.fullmatch(r"complete .*-F _shtab_dws_rebalancer dws-rebalancer\n", registered)


def test_bash_completes_every_verb_of_the_parser(tmp_path: Path) -> None:
    parser = build_parser()
    (verbs,) = (a.choices for a in parser._actions if a.dest == "command")
    offered = _bash_complete(tmp_path, "dws-rebalancer ")
    assert set(verbs) <= set(offered)
    assert "completion" in offered
    assert _bash_complete(tmp_path, "dws-rebalancer sw") == ["switchover"]


def test_bash_completes_options_and_their_choices(tmp_path: Path) -> None:
    assert _bash_complete(tmp_path, "dws-rebalancer once --output ") == ["json", "table"]
    assert _bash_complete(tmp_path, "dws-rebalancer completion ") == ["bash", "zsh"]
    options = _bash_complete(tmp_path, "dws-rebalancer switchover --")
    assert {"--ignore-window", "--wait", "--config"} <= set(options)
    assert "--output" not in options, "switchover has no --output"


def test_bash_completes_file_names_for_config(tmp_path: Path) -> None:
    (tmp_path / "prod.yaml").write_text("endpoint: x\n")
    offered = _bash_complete(tmp_path, f"dws-rebalancer status --config {tmp_path}/pr")
    assert offered == [f"{tmp_path}/prod.yaml"]


def test_zsh_loads_it_from_fpath_as_the_help_says(tmp_path: Path) -> None:
    script = _script("zsh", tmp_path)
    assert script.read_text().startswith("#compdef dws-rebalancer\n")
    functions = tmp_path / "functions"
    functions.mkdir()
    script.rename(functions / "_dws-rebalancer")
    program = (
        f"fpath=({functions} $fpath)\n"
        f"autoload -Uz compinit && compinit -u -d {tmp_path}/zcompdump\n"
        "print -r -- ${_comps[dws-rebalancer]}\n"
    )
    assert _shell("zsh", program) == "_dws-rebalancer\n"


def test_zsh_registers_it_when_evaluated(tmp_path: Path) -> None:
    script = _script("zsh", tmp_path)
    program = (
        f"autoload -Uz compinit && compinit -u -d {tmp_path}/zcompdump\n"
        f'eval "$(<{script})"\n'
        "print -r -- ${_comps[dws-rebalancer]}\n"
        "whence -w _shtab_dws_rebalancer\n"
    )
    assert _shell("zsh", program).splitlines() == [
        "_shtab_dws_rebalancer",
        "_shtab_dws_rebalancer: function",
    ]


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = subprocess.run(
        [*CLI, "completion", "fish"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "invalid choice: 'fish'" in done.stderr
    assert "Traceback" not in done.stderr
