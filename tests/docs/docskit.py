"""Helpers for the docs tests: the real `mkdocs build --strict`, and scripts/docgen.py loaded by path."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: What a docs build reads: the site config, the pages, the hook and the chart's rules.
SOURCES = ("mkdocs.yml", "docs", "scripts/docgen.py", "charts/dws-rebalancer/rules")


def load_docgen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docgen", ROOT / "scripts" / "docgen.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mkdocs_build(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of `project` into `site`, as CI runs it."""
    if importlib.util.find_spec("mkdocs") is None:
        raise AssertionError("mkdocs is missing: install the docs extra (pip install -e '.[dev]')")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def copy_sources(target: Path) -> Path:
    """A copy of what the docs build reads, to break on purpose."""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / name)
    return target
