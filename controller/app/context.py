"""What every command shares: the command line's clock, its usage error, journal look-ups."""

from __future__ import annotations

from pathlib import Path

from controller.clock import Clock, SystemClock
from controller.journal import Journal
from controller.settings import Settings

#: The command line's only time source (the tests replace it); `clock.py` is the one wall-clock reader.
CLOCK: Clock = SystemClock()


class UsageError(Exception):
    """Bad command-line input: exit 2 with the message."""


def require_journal(settings: Settings) -> Path:
    if not settings.journal_path.exists():
        raise UsageError(f"no journal at {settings.journal_path} (has the controller run yet?)")
    return settings.journal_path


def cluster_id(journal: Journal, id_or_name: str) -> str | None:
    """The id of a cluster the journal knows, by id or by its latest name; None if unknown."""
    names = journal.cluster_names()
    if id_or_name in names:
        return id_or_name
    return next((cid for cid, name in names.items() if name == id_or_name), None)
