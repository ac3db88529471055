"""The `dws-rebalancer` command line: argument parsing, exit codes and human/JSON output.

Exit codes: 0 success, 1 runtime failure (DWS unreachable, journal unusable), 2 bad usage or
configuration — always with a one-line reason, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

from controller import __version__
from controller.bootstrap import assemble
from controller.clock import SystemClock
from controller.config_types import parse_duration
from controller.dws.errors import DwsError
from controller.journal import Journal, JournalError
from controller.logs import configure_logging, register_secrets
from controller.model import Action, Trigger
from controller.output import print_decisions, print_history, print_views
from controller.reconcile import Reconciler
from controller.settings import ConfigError, Settings, load_settings


class UsageError(Exception):
    """Bad command-line input: exit 2 with the message."""


def _iso_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} needs a UTC offset, e.g. 2026-12-01T02:00+08:00"
        )
    return value


def _since(text: str) -> dt.datetime:
    """An ISO time, or a duration back from now (`24h`, `7d`)."""
    try:
        return dt.datetime.now(dt.UTC) - parse_duration(text)
    except ValueError:
        return _iso_time(text)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", "-c", type=Path, help="YAML config file (or DWS_REBALANCER_CONFIG)"
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--output", "-o", choices=("table", "json"), default="table")

    parser = argparse.ArgumentParser(
        prog="dws-rebalancer",
        description="Keeps GaussDB(DWS) clusters balanced by running switchovers safely, off-peak.",
    )
    parser.add_argument("--version", action="version", version=f"dws-rebalancer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run the controller")
    run.add_argument(
        "--reset-journal",
        action="store_true",
        help="move an unreadable journal aside (kept as a backup) and start fresh",
    )
    once = sub.add_parser("once", parents=[common, output], help="one cycle, then exit")
    once.add_argument("--wait", action="store_true", help="track a triggered switchover to its end")
    once.add_argument("--reset-journal", action="store_true")
    status = sub.add_parser(
        "status", parents=[common, output], help="what would happen now (or --at a time) and why"
    )
    status.add_argument("--at", type=_iso_time, help="evaluate at this time (ISO-8601 with offset)")
    history = sub.add_parser(
        "history",
        parents=[common, output],
        help="switchovers and decision changes from the journal",
    )
    history.add_argument("--cluster", help="cluster id or name")
    history.add_argument("--since", type=_since, help="ISO time or duration back (24h, 7d)")
    sub.add_parser(
        "check-config", parents=[common], help="validate config, authenticate, list clusters"
    )
    manual = sub.add_parser(
        "switchover", parents=[common], help="manual switchover through the same guards"
    )
    manual.add_argument("cluster", help="cluster id or name")
    manual.add_argument(
        "--ignore-window",
        action="store_true",
        help="bypass window, blackout, cooldown and daily budget (never state, version or breaker)",
    )
    manual.add_argument("--wait", action="store_true", help="track it to its end")
    pause = sub.add_parser("pause", parents=[common], help="stop acting (from the next cycle)")
    pause.add_argument("--reason", help="why; shown in status, logs and metrics")
    sub.add_parser("resume", parents=[common], help="clear the pause flag")
    breaker = sub.add_parser(
        "reset-breaker",
        parents=[common],
        help="close a cluster's circuit breaker after a human checked it",
    )
    breaker.add_argument("cluster", help="cluster id or name")
    demo = sub.add_parser("demo", help="the controller against the bundled emulator, accelerated")
    demo.add_argument("--forever", action="store_true", help="keep running after the summary")
    demo.add_argument("--listen", default="127.0.0.1:9108", help="metrics address (HOST:PORT)")
    demo.add_argument("--speed", type=float, default=60.0, help="virtual seconds per real second")
    sub.add_parser(
        "simulator", add_help=False, help="serve the DWS emulator (see simulator --help)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["simulator"]:
        from controller.simulator.server import main as simulator_main

        return simulator_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    try:
        return _dispatch(args)
    except (ConfigError, UsageError) as exc:
        print(f"dws-rebalancer: {exc}", file=sys.stderr)
        return 2
    except (DwsError, JournalError) as exc:
        print(f"dws-rebalancer: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the listen address is taken
        print(f"dws-rebalancer: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from controller.demo import run_demo

        return asyncio.run(run_demo(forever=args.forever, listen=args.listen, speed=args.speed))
    settings = load_settings(args.config)
    configure_logging(fmt=settings.log_format, level=settings.log_level, stream=sys.stderr)
    register_secrets(*_secret_values(settings))
    handlers: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "run": _run,
        "once": _once,
        "status": _status,
        "history": _history,
        "check-config": _check_config,
        "switchover": _switchover,
        "pause": _pause,
        "resume": _pause,
        "reset-breaker": _reset_breaker,
    }
    return asyncio.run(handlers[args.command](settings, args))


def _secret_values(settings: Settings) -> list[str]:
    auth = settings.auth
    secrets = [auth.sk, auth.security_token, auth.token, auth.password]
    values = [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
    return [*values, *([auth.ak] if auth.ak else [])]  # the AK identifies the account: masked too


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from controller.service import serve_controller

    await serve_controller(settings, reset_journal=args.reset_journal)
    return 0


async def _once(settings: Settings, args: argparse.Namespace) -> int:
    clock = SystemClock()
    async with assemble(settings, clock=clock, reset_journal=args.reset_journal) as parts:
        report = await parts.reconciler.reconcile_once(clock.now())
        print_decisions(report.decisions, args.output, sys.stdout)
        if args.wait:
            await _wait_for_tracking(parts.reconciler, settings, clock, sys.stdout)
    return 0


async def _wait_for_tracking(
    reconciler: Reconciler, settings: Settings, clock: SystemClock, out: TextIO
) -> None:
    while reconciler.tracked:
        await asyncio.sleep(settings.tracking_interval.total_seconds())
        for record in (await reconciler.track_once(clock.now())).finished:
            took = record.interruption_seconds
            out.write(
                f"{record.cluster_name}: switchover {record.outcome} (interruption "
                f"{'unknown' if took is None else f'{took:.1f}s'})\n"
            )


async def _status(settings: Settings, args: argparse.Namespace) -> int:
    clock = SystemClock()
    now = clock.now()
    async with assemble(settings, clock=clock) as parts:
        views = await parts.reconciler.preview(args.at or now, observed=now)
    print_views(views, args.output, sys.stdout)
    return 0


def _open_existing_journal(settings: Settings) -> Journal:
    if not settings.journal_path.exists():
        raise UsageError(f"no journal at {settings.journal_path} (has the controller run yet?)")
    return Journal.open(settings.journal_path, now=dt.datetime.now(dt.UTC), create=False)


def _cluster_id(journal: Journal, id_or_name: str) -> str:
    by_name = {name: cid for cid, name in journal.cluster_names().items()}
    return by_name.get(id_or_name, id_or_name)


async def _history(settings: Settings, args: argparse.Namespace) -> int:
    with _open_existing_journal(settings) as journal:
        cluster_id = _cluster_id(journal, args.cluster) if args.cluster else None
        items = journal.history(cluster_id=cluster_id, since=args.since)
    print_history(items, args.output, sys.stdout)
    return 0


async def _check_config(settings: Settings, args: argparse.Namespace) -> int:
    print(
        f"configuration OK: endpoint {settings.endpoint}, project {settings.project_id}, "
        f"auth {settings.auth.method}, dry_run={settings.dry_run}"
    )
    clock = SystemClock()
    async with assemble(settings, clock=clock) as parts:
        clusters = await parts.client.list_clusters(settings.enterprise_project_id)
    print(f"authenticated; {len(clusters)} cluster(s):")
    for c in sorted(clusters, key=lambda c: c.name):
        print(
            f"  {c.name} ({c.id}) {c.status} {'|'.join(sorted(c.sub_status)) or '-'} "
            f"version {c.raw_version or '?'}"
        )
    return 0


async def _switchover(settings: Settings, args: argparse.Namespace) -> int:
    from controller.decide import decide

    clock = SystemClock()
    now = clock.now()
    async with assemble(settings, clock=clock) as parts:
        views = await parts.reconciler.preview(now, observed=now)
        view = next((v for v in views if args.cluster in (v.cluster.id, v.cluster.name)), None)
        if view is None or view.history is None:
            raise UsageError(f"no cluster {args.cluster!r} in project {settings.project_id}")
        policy = settings.policy_for(view.cluster.id, view.cluster.name)
        decision = decide(
            view.cluster,
            view.history,
            policy,
            now,
            dry_run=settings.dry_run,
            ignore_window=args.ignore_window,
        )
        print_decisions([decision], "table", sys.stdout)
        if decision.action is not Action.SWITCHOVER:
            return 1
        parts.journal.record_decision(decision)
        record = await parts.reconciler.switchovers.trigger(view.cluster, Trigger.MANUAL, now)
        print(
            f"{record.cluster_name}: switchover {'accepted' if record.confirmed else 'sent'}"
            f"{'' if record.outcome is None else f', {record.outcome}: {record.error}'}"
        )
        if args.wait and record.outcome is None:
            await _wait_for_tracking(parts.reconciler, settings, clock, sys.stdout)
        return 0 if record.outcome is None or record.outcome.value == "succeeded" else 1


async def _pause(settings: Settings, args: argparse.Namespace) -> int:
    paused = args.command == "pause"
    with Journal.open(settings.journal_path, now=dt.datetime.now(dt.UTC)) as journal:
        journal.set_paused(
            paused, at=dt.datetime.now(dt.UTC), reason=getattr(args, "reason", None), by="cli"
        )
    print("paused: the controller will not act from its next cycle" if paused else "resumed")
    return 0


async def _reset_breaker(settings: Settings, args: argparse.Namespace) -> int:
    with _open_existing_journal(settings) as journal:
        journal.reset_breaker(
            _cluster_id(journal, args.cluster), at=dt.datetime.now(dt.UTC), by="cli"
        )
    print(f"breaker of {args.cluster} reset")
    return 0
