"""What every command shares: the command line's clock, its usage error, journal look-ups."""

from __future__ import annotations

from pathlib import Path

from controller.clock import Clock, SystemClock
from controller.journal import Journal
from controller.settings import Settings
from controller.targets import ambiguous

#: The command line's only time source (the tests replace it); `clock.py` is the one wall-clock reader.
CLOCK: Clock = SystemClock()


class UsageError(Exception):
    """Bad command-line input: exit 2 with the message."""


def require_journal(settings: Settings) -> Path:
    if not settings.journal_path.exists():
        raise UsageError(f"no journal at {settings.journal_path} (has the controller run yet?)")
    return settings.journal_path


def cluster_id(journal: Journal, id_or_name: str) -> str | None:
    """The id of a cluster the journal knows, by id, latest name or `TARGET/NAME`; None if
    unknown. A name that several targets use is a usage error naming them."""
    found = journal.clusters_matching(id_or_name)
    if len(found) > 1:
        raise UsageError(ambiguous(id_or_name, (target for _, _, target in found)))
    return found[0][0] if found else None


def split_target(cluster: str, target: str | None) -> tuple[str | None, str]:
    """(target, cluster) from `TARGET/CLUSTER` or `--target`; they must agree when both say."""
    named, _, name = cluster.rpartition("/")
    if named and target and named != target:
        raise UsageError(f"{cluster!r} is in target {named}, but --target says {target}")
    return (named or target or None), name
