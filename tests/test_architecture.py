"""The code's shape, held by tests: short functions, modules that say what they own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import controller

PACKAGE = Path(controller.__file__).parent
#: The emulator imitates DWS's own handlers and is held to its API, not to this shape.
EXEMPT = {PACKAGE / "simulator"}
MAX_FUNCTION_LINES = 40


def modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.is_relative_to(folder) for folder in EXEMPT)
    ]


def long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    tree = ast.parse(source)
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_the_length_check_sees_a_long_function() -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(45))
    assert long_functions(f"def f():\n{body}\n", MAX_FUNCTION_LINES) == [("f", 46)]
    assert long_functions("def g():\n    return 1\n", MAX_FUNCTION_LINES) == []


def test_no_function_is_over_40_lines() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}: {name} has {lines} lines"
        for path in modules()
        for name, lines in long_functions(path.read_text(encoding="utf-8"), MAX_FUNCTION_LINES)
    ]
    assert offenders == []


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_every_module_opens_with_a_line_saying_what_it_owns(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, "a module opens with a docstring"
    assert summary_line(docstring), "whose first line, alone, says what the module owns"


def summary_line(docstring: str) -> str | None:
    """The docstring's first line if it stands alone (PEP 257: a blank line or nothing after it)."""
    first, *rest = docstring.splitlines()
    if rest and rest[0].strip():
        return None
    return first.strip() or None


@pytest.mark.parametrize(
    ("docstring", "summary"),
    [
        ("What it owns.", "What it owns."),
        ("What it owns.\n\nWhy, at length.", "What it owns."),
        ("A first line that runs on\ninto a second.", None),
        ("\nAfter a blank first line.", None),
    ],
)
def test_the_summary_line_is_one_line_alone(docstring: str, summary: str | None) -> None:
    assert summary_line(docstring) == summary
