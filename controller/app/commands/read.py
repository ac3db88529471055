"""The read-only commands: status, history, check-config. They never create or write the journal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller.app import context
from controller.app.bootstrap import Access, assemble_fleet, dws_client
from controller.app.output import print_history, print_views
from controller.app.profile_output import load_profile, print_profile
from controller.journal import MIGRATIONS, Journal, JournalError
from controller.loop.snapshot import ClusterView
from controller.settings import Settings
from controller.targets import ambiguous, fleet


async def status(settings: Settings, args: argparse.Namespace) -> int:
    clock = context.CLOCK
    now = clock.now()
    if args.at is not None and args.at < now:
        # The journal knows onsets and switchovers only up to now: judging an earlier instant
        # against them would be incoherent (an onset after `--at`), so the past is `history`'s.
        raise context.UsageError(
            f"--at {args.at.isoformat()} is in the past: status looks ahead "
            "(see `history` for what happened)"
        )
    at = args.at or now
    target, wanted = (
        context.split_target(args.cluster, args.target) if args.cluster else (args.target, None)
    )
    shown: list[tuple[str | None, list[ClusterView]]] = []
    profile = None
    async with assemble_fleet(settings, clock=clock, access=Access.READ, only=target) as fleet:
        for parts in fleet.targets:
            views = await parts.reconciler.preview(at, observed=now)
            if wanted is not None:
                views = [v for v in views if wanted in (v.cluster.id, v.cluster.name)]
            if views and wanted is not None:
                profile = profile or load_profile(parts.reconciler, views[0], at)
            shown.append((parts.settings.target if settings.targets else None, views))
    _print_status(shown, args, wanted)
    if profile is not None:
        print_profile(profile, args.output, sys.stdout)
    return 0


def _print_status(
    shown: list[tuple[str | None, list[ClusterView]]], args: argparse.Namespace, wanted: str | None
) -> None:
    """Each target's views (only the named cluster's, when one is named: exactly once)."""
    if wanted is not None:
        found = [(target, views) for target, views in shown if views]
        if not found:
            raise context.UsageError(f"no cluster {wanted!r} in the project")
        if len(found) > 1:
            raise context.UsageError(ambiguous(wanted, (str(t) for t, _ in found)))
        shown = found
    for target, views in shown:
        print_views(views, args.output, sys.stdout, target=target)


async def history(settings: Settings, args: argparse.Namespace) -> int:
    with Journal.open_read_only(context.require_journal(settings)) as journal:
        cluster_id = context.cluster_id(journal, args.cluster) if args.cluster else None
        if args.cluster and cluster_id is None:
            items = []
        else:
            items = journal.history(cluster_id=cluster_id, since=args.since, target=args.target)
    if not items and args.output == "table":
        print(_nothing_recorded(args))
    print_history(items, args.output, sys.stdout)
    return 0


def _nothing_recorded(args: argparse.Namespace) -> str:
    scope = f" for cluster {args.cluster}" if args.cluster else ""
    since = f" since {args.since.isoformat(timespec='seconds')}" if args.since else ""
    return f"no switchovers, decision changes or operator actions recorded{scope}{since}"


async def check_config(settings: Settings, args: argparse.Namespace) -> int:
    journal_ok, verdict = _journal_verdict(settings.journal_path)
    for index, target in enumerate(fleet(settings)):
        own = target.settings
        named = f"target {target.name}: " if settings.targets else ""
        print(
            f"{named}configuration OK: endpoint {own.endpoint}, project {own.project_id}, "
            f"auth {own.auth.method}, dry_run={own.dry_run}"
        )
        if index == 0:  # the journal is the controller's, not a target's: said once
            print(verdict)
        async with dws_client(own) as client:
            clusters = await client.list_clusters(own.enterprise_project_id)
        print(f"authenticated; {len(clusters)} cluster(s):")
        for c in sorted(clusters, key=lambda c: c.name):
            print(
                f"  {c.name} ({c.id}) {c.status} {'|'.join(sorted(c.sub_status)) or '-'} "
                f"version {c.raw_version or '?'}"
            )
    return 0 if journal_ok else 1


def _journal_verdict(path: Path) -> tuple[bool, str]:
    """Whether the journal is usable, read-only: a missing one is fine (the first run creates it)."""
    if not path.exists():
        return True, f"journal {path}: missing (the first run, once or switchover creates it)"
    try:
        with Journal.open_read_only(path) as journal:
            version = journal.schema_version
    except JournalError as exc:
        return False, f"journal NOT usable: {exc}"
    latest = len(MIGRATIONS)
    later = "" if version == latest else f", migrated to v{latest} by the next run or once"
    return True, f"journal {path}: OK (schema v{version}{later})"
