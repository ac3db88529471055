"""scripts/docgen.py on its own: how it names types and defaults, and that it refuses to drift."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest
from docskit import load_docgen
from pydantic import BaseModel, Field

from controller.config_types import PositiveDuration, TimeOfDay

docgen = load_docgen()


class Item(BaseModel):
    at: TimeOfDay
    note: str = "x"


class Sample(BaseModel):
    name: str = Field(min_length=1)
    every: PositiveDuration = dt.timedelta(minutes=90)
    mode: Literal["fast", "slow"] = "fast"
    count: int | None = Field(default=None, ge=1, le=9)
    items: list[Item] = Field(default_factory=list)
    described: bool = Field(default=True, description="Told by the model itself.")


MEANINGS = {
    "name": "A name.",
    "every": "How often.",
    "mode": "How fast.",
    "count": "How many.",
    "items": "The items.",
    "items[].at": "When.",
    "items[].note": "A note.",
}


def rows() -> dict[str, list[str]]:
    table = docgen.configuration_rows(Sample, MEANINGS, "APP_")
    return {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in r.strip("|").split("|")] for r in table)
    }


def test_each_key_gets_its_type_default_variable_and_meaning() -> None:
    table = rows()
    assert table["`name`"] == ["string", "(required)", "`APP_NAME`", "A name. (not empty)"]
    assert table["`every`"] == ["duration", "`90m`", "`APP_EVERY`", "How often."]
    assert table["`mode`"] == ["one of `fast`, `slow`", "`fast`", "`APP_MODE`", "How fast."]
    assert table["`count`"] == [
        "integer or `null`",
        "`null`",
        "`APP_COUNT`",
        "How many. (≥ 1, ≤ 9)",
    ]
    assert table["`items`"][:2] == ["list of mappings (below)", "`[]`"]
    assert table["`items[].at`"] == ['time of day (`"HH:MM"`)', "(required)", "", "When."]
    assert table["`described`"][3] == "Told by the model itself."


def test_a_key_without_a_meaning_is_an_error() -> None:
    meanings = {k: v for k, v in MEANINGS.items() if k != "items[].note"}
    with pytest.raises(docgen.DocsError, match=r"settings key items\[\]\.note has no meaning"):
        list(docgen.configuration_rows(Sample, meanings, "APP_"))


def test_a_meaning_without_a_key_is_an_error() -> None:
    with pytest.raises(docgen.DocsError, match="explains keys the settings lack: gone"):
        list(docgen.configuration_rows(Sample, {**MEANINGS, "gone": "Removed."}, "APP_"))


def test_every_settings_key_has_a_meaning_in_the_docs() -> None:
    from controller.settings import Settings

    table = docgen.configuration_reference()  # raises on a key without a meaning, or the reverse
    assert [key for key, _ in docgen.walk(Settings) if f"| `{key}` |" not in table] == []


def test_markers_are_replaced_and_unknown_ones_refused() -> None:
    page = "# Page\n\n<!-- generated: alerts -->\n\ntext\n"
    expanded = docgen.expand(page, "runbooks/index.md")
    assert "<!-- generated" not in expanded
    assert "[DwsRebalancerDown](DwsRebalancerDown.md)" in expanded
    assert "[DwsRebalancerDown](runbooks/DwsRebalancerDown.md)" in docgen.expand(page, "x.md")
    with pytest.raises(docgen.DocsError, match="no generated part named 'nope'"):
        docgen.expand("<!-- generated: nope -->\n", "page.md")
