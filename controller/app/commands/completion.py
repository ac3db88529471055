"""The completion command: a bash or zsh completion script, generated from the parser itself.

shtab reads the argparse tree, so every verb, option and choice the parser knows is completed and
a new option needs no edit here. Options that take a path (`type=Path`) complete file names.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import shtab

SHELLS = ("bash", "zsh")


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell`, with path options completing file names."""
    for action in _actions(parser):
        if action.type is Path:
            action.complete = shtab.FILE  # type: ignore[attr-defined]  # shtab reads this attribute
    return shtab.complete(parser, shell=shell)


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every action of the parser and, recursively, of its subcommands' parsers."""
    for action in parser._actions:  # argparse has no public walk over its tree
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield from _actions(child)


#: How to load the script, shown by `completion --help`.
EPILOG = """\
bash: add  eval "$(dws-rebalancer completion bash)"  to ~/.bashrc
zsh:  dws-rebalancer completion zsh > "${fpath[1]}/_dws-rebalancer", then start a new zsh"""
