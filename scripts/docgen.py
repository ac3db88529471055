"""The generated parts of the docs, and the MkDocs hook that writes them into the pages at build time.

A page asks for a part with a line of its own, `<!-- generated: NAME -->`; `mkdocs build` replaces
it with the part, built from the code itself:

- `configuration`: every key of the settings models (controller/settings.py) with its type,
  default, environment variable and constraints; its meaning comes from the field's description
  or, failing that, docs/reference/configuration.yaml. A key without a meaning, or a meaning
  without a key, stops the build: docs and code cannot drift.
- `metrics`: every metric family on the controller's registry (controller/record/metrics.py).
- `cli`: the help of every command, from the parser (controller/app/cli.py).
- `alerts`: every alert of the chart's rules, with its severity and runbook (docs/runbooks/).

Why at build time rather than committed: a generated file in git can go stale, a page built from
the code cannot, and `mkdocs build --strict` (run by tests/docs) fails on any problem here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[1]
MEANINGS = ROOT / "docs" / "reference" / "configuration.yaml"
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.M)


class DocsError(Exception):
    """The code and the docs disagree; the message says where."""


# -- configuration -------------------------------------------------------------------------------


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return annotation, False


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (directly, optionally, or as a list of them) and whether it is a list."""
    inner, _ = _strip_optional(annotation)
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        return (
            (item, True) if isinstance(item, type) and issubclass(item, BaseModel) else (None, True)
        )
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, False
    return None, False


def type_name(annotation: Any, metadata: list[Any]) -> str:
    """A reader's name for a field's type: duration, time of day, list of strings, ..."""
    inner, optional = _strip_optional(annotation)
    names = {getattr(m, "func", None).__name__ for m in metadata if hasattr(m, "func")}  # type: ignore[union-attr]
    if inner is dt.timedelta:
        name = "duration"
    elif inner is dt.time or "_parse_hhmm" in names:
        name = 'time of day (`"HH:MM"`)'
    elif "_parse_day" in names:
        name = "weekday (`Mon`..`Sun`)"
    elif "_parse_zone" in names:
        name = "IANA time zone"
    elif inner is dt.datetime:
        name = "timestamp with offset"
    elif typing.get_origin(inner) is Literal:
        name = "one of " + ", ".join(f"`{v}`" for v in typing.get_args(inner))
    else:
        name = _plain_type_name(inner)
    return f"{name} or `null`" if optional else name


def _plain_type_name(inner: Any) -> str:
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        if _model_of(item)[0] is not None:
            return "list of mappings (below)"
        if typing.get_origin(item) is Annotated:
            return "list, each a " + type_name(typing.get_args(item)[0], list(item.__metadata__))
        return f"list of {_plain_type_name(item)}s"
    if typing.get_origin(inner) in (typing.Union, types.UnionType):
        return " or ".join(_plain_type_name(a) for a in typing.get_args(inner))
    if typing.get_origin(inner) is dict:
        return "mapping"
    simple = {str: "string", bool: "boolean", int: "integer", float: "number", Path: "path"}
    if inner in simple:
        return simple[inner]
    if inner is SecretStr:
        return "secret string"
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "mapping (below)"
    return getattr(inner, "__name__", str(inner))


def _constraints(metadata: list[Any]) -> str:
    words = {"ge": "≥ {}", "gt": "> {}", "le": "≤ {}", "lt": "< {}", "min_length": "length ≥ {}"}
    found = []
    for item in metadata:
        for attribute, word in words.items():
            if (value := getattr(item, attribute, None)) is not None:
                found.append(
                    "not empty" if (attribute, value) == ("min_length", 1) else word.format(value)
                )
    return ", ".join(found)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "`null`"
    if isinstance(value, BaseModel):
        return "(below)"
    annotation = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    dumped = adapter.dump_python(value, mode="json")
    if isinstance(dumped, str):
        return f"`{dumped}`"
    if isinstance(dumped, bool | int | float):
        return f"`{json.dumps(dumped)}`"
    flow = yaml.safe_dump(dumped, default_flow_style=True, sort_keys=False, width=1000).strip()
    return f"`{flow}`"


def walk(
    model: type[BaseModel], prefix: str = "", seen: set[type[BaseModel]] | None = None
) -> Iterator[tuple[str, FieldInfo]]:
    """(dotted key, field) for every field, depth first; a list of models is `key[].field`.

    A model met a second time (a target's `auth`, like the top-level one) is not expanded
    again: its key's meaning points to the first place, where each of its keys is explained.
    """
    seen = set() if seen is None else seen
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        yield key, field
        nested, many = _model_of(field.annotation)
        if nested is not None and nested not in seen:
            seen.add(nested)
            yield from walk(nested, f"{key}[]." if many else f"{key}.", seen)


def _environment_variable(key: str, prefix: str) -> str:
    if "[]" in key:
        return ""  # a list item has no variable of its own: the whole list is one JSON value
    return f"`{prefix}{key.replace('.', '__').upper()}`"


def configuration_rows(
    model: type[BaseModel], meanings: dict[str, str], env_prefix: str
) -> Iterator[str]:
    unknown = sorted(set(meanings) - {key for key, _ in walk(model)})
    if unknown:
        raise DocsError(f"{MEANINGS.name} explains keys the settings lack: {', '.join(unknown)}")
    for key, field in walk(model):
        meaning = field.description or meanings.get(key)
        if not meaning:
            raise DocsError(f"settings key {key} has no meaning: add it to {MEANINGS.name}")
        limits = _constraints(field.metadata)
        meaning = f"{meaning.strip()} ({limits})" if limits else meaning.strip()
        cells = [
            f"`{key}`",
            type_name(field.annotation, field.metadata),
            default_text(field),
            _environment_variable(key, env_prefix),
            meaning.replace("\n", " ").replace("|", "\\|"),
        ]
        yield "| " + " | ".join(cells) + " |"


def configuration_reference() -> str:
    from controller.settings import ENV_PREFIX, Settings

    meanings = yaml.safe_load(MEANINGS.read_text(encoding="utf-8"))
    header = "| key | type | default | environment variable | meaning |\n|---|---|---|---|---|"
    return "\n".join([header, *configuration_rows(Settings, meanings, ENV_PREFIX)])


# -- metrics -------------------------------------------------------------------------------------


def metric_rows(registry: Any) -> Iterator[str]:
    """One row per metric family, from the registry's own descriptions (name, type, help)."""
    for family in sorted(registry.collect(), key=lambda f: f.name):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = _family_labels(registry, family.name)
        cells = [
            f"`{name}`",
            family.type,
            ", ".join(f"`{label}`" for label in labels) or "—",
            family.documentation.replace("|", "\\|") + _buckets(registry, family.name),
        ]
        yield "| " + " | ".join(cells) + " |"


def _collectors(registry: Any) -> Iterator[Any]:
    yield from list(registry._collector_to_names)  # prometheus_client keeps no public list


def _family_labels(registry: Any, name: str) -> tuple[str, ...]:
    for collector in _collectors(registry):
        if getattr(collector, "_name", None) == name:
            return tuple(collector._labelnames)
    # A custom collector (process_*, python_*): the labels its samples carry.
    for family in registry.collect():
        if family.name == name:
            keys = {k for s in family.samples for k in s.labels if k not in ("le", "quantile")}
            return tuple(sorted(keys))
    return ()


def _buckets(registry: Any, name: str) -> str:
    for collector in _collectors(registry):
        if getattr(collector, "_name", None) == name and hasattr(collector, "_upper_bounds"):
            bounds = [b for b in collector._upper_bounds if b != float("inf")]
            return " Buckets (s): " + ", ".join(f"{b:g}" for b in bounds) + "."
    return ""


def metrics_reference() -> str:
    from controller.record.metrics import Metrics

    header = "| metric | type | labels | meaning |\n|---|---|---|---|"
    return "\n".join([header, *metric_rows(Metrics().registry)])


# -- command line --------------------------------------------------------------------------------


def _help_of(parser: argparse.ArgumentParser) -> str:
    with redirect_stdout(io.StringIO()) as out:
        parser.print_help()
    # argparse wraps to the terminal's width: fixed here so the page does not depend on it
    return out.getvalue().rstrip()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public walk over its tree
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    import os

    from controller.app.cli import build_parser
    from controller.simulator.server import _parser as simulator_parser

    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    sections = [f"```text\n{_help_of(parser)}\n```"]
    for verb, sub in _subparsers(parser).items():
        helped = simulator_parser() if verb == "simulator" else sub  # it parses its own options
        sections.append(f"### `{verb}`\n\n```text\n{_help_of(helped)}\n```")
    return "\n\n".join(sections)


# -- alerts --------------------------------------------------------------------------------------

RULES = ROOT / "charts" / "dws-rebalancer" / "rules" / "dws-rebalancer.rules.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks"


def alerts() -> list[dict[str, Any]]:
    """The chart's alert rules, in file order."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alerts_reference(page: str = "index.md") -> str:
    """One row per alert of the chart, linked to its runbook; an alert without one stops the build."""
    folder = "" if page.startswith("runbooks/") else "runbooks/"
    rows = ["| alert | severity | runbook |", "|---|---|---|"]
    names = [rule["alert"] for rule in alerts()]
    missing = [name for name in names if not (RUNBOOKS / f"{name}.md").is_file()]
    orphans = sorted({p.stem for p in RUNBOOKS.glob("*.md")} - set(names) - {"index"})
    if missing or orphans:
        raise DocsError(f"runbooks missing for {missing}, runbooks without an alert: {orphans}")
    for rule in alerts():
        name = rule["alert"]
        rows.append(f"| `{name}` | {rule['labels']['severity']} | [{name}]({folder}{name}.md) |")
    return "\n".join(rows)


# -- the hook ------------------------------------------------------------------------------------

#: Each part, given the path of the page it goes into (for relative links).
PARTS: dict[str, Callable[[str], str]] = {
    "configuration": lambda page: configuration_reference(),
    "metrics": lambda page: metrics_reference(),
    "cli": lambda page: cli_reference(),
    "alerts": alerts_reference,
}


def expand(markdown: str, where: str) -> str:
    """The page with every marker replaced by its part; an unknown marker is an error."""

    def part(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PARTS:
            raise DocsError(f"{where}: no generated part named {name!r} ({', '.join(PARTS)})")
        return PARTS[name](where)

    return MARKER.sub(part, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook (mkdocs.yml `hooks:`): fill in the generated parts of a page."""
    return expand(markdown, page.file.src_uri)
