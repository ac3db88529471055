"""The operator's commands: pause, resume, reset-breaker.

No actor lock: they work beside a running controller through SQLite's own short write transactions.
"""

from __future__ import annotations

import argparse

from controller.app import context
from controller.journal import Journal
from controller.settings import Settings


async def pause(settings: Settings, args: argparse.Namespace) -> int:
    _set_paused(settings, True, reason=args.reason)
    print("paused: the controller will not act from its next cycle")
    return 0


async def resume(settings: Settings, args: argparse.Namespace) -> int:
    _set_paused(settings, False, reason=None)
    print("resumed")
    return 0


def _set_paused(settings: Settings, paused: bool, *, reason: str | None) -> None:
    now = context.CLOCK.now()
    with Journal.open(settings.journal_path, now=now) as journal:
        journal.set_paused(paused, at=now, reason=reason, by="cli")


async def reset_breaker(settings: Settings, args: argparse.Namespace) -> int:
    now = context.CLOCK.now()
    with Journal.open(context.require_journal(settings), now=now, create=False) as journal:
        cluster_id = _known_cluster_id(journal, args.cluster)
        journal.reset_breaker(cluster_id, at=now, by="cli")
    print(f"breaker of {args.cluster} reset: it may switch over again once the guards allow")
    return 0


def _known_cluster_id(journal: Journal, id_or_name: str) -> str:
    cluster_id = context.cluster_id(journal, id_or_name)
    if cluster_id is None:
        raise context.UsageError(f"no cluster {id_or_name!r} in the journal {journal.path}")
    return cluster_id
