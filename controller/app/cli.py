"""The `dws-rebalancer` command line: argument parsing, exit codes and human/JSON output.

Exit codes: 0 success, 1 runtime failure (DWS unreachable, journal unusable), 2 bad usage or
configuration — always with a one-line reason, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from controller import __version__
from controller.app.bootstrap import Access, assemble, dws_client
from controller.app.output import print_decisions, print_history, print_views
from controller.clock import Clock, SystemClock
from controller.config_types import parse_duration, parse_listen
from controller.dws.errors import DwsError
from controller.guards.registry import IGNORE_WINDOW_BYPASSES
from controller.journal import MIGRATIONS, Journal, JournalError
from controller.logs import configure_logging, register_secrets
from controller.settings import ConfigError, Settings, load_settings

#: The command line's only time source (the tests replace it); `clock.py` is the one wall-clock reader.
CLOCK: Clock = SystemClock()


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


def _listen(text: str) -> str:
    """HOST:PORT, checked here so a typo is a usage error, not a failure inside the demo."""
    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _since(text: str) -> dt.datetime:
    """An ISO time, or a duration back from now (`24h`, `7d`)."""
    if re.match(r"\d{4}-", text):
        return _iso_time(text)
    try:
        return CLOCK.now() - parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, or an ISO-8601 time with an offset") from None
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r} reaches back before year 1") from None


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", "-c", type=Path, help="YAML config file (or DWS_REBALANCER_CONFIG)"
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "--output",
        "-o",
        choices=("table", "json"),
        default="table",
        help="table for people, json for scripts (one object per line) (default: %(default)s)",
    )
    reset = argparse.ArgumentParser(add_help=False)
    reset.add_argument(
        "--reset-journal",
        action="store_true",
        help="move an unreadable journal aside (kept as a .bak backup) and start fresh",
    )

    parser = argparse.ArgumentParser(
        prog="dws-rebalancer",
        description="Keeps GaussDB(DWS) clusters balanced by running switchovers safely, off-peak.",
    )
    parser.add_argument("--version", action="version", version=f"dws-rebalancer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", parents=[common, reset], help="run the controller")
    once = sub.add_parser("once", parents=[common, output, reset], help="one cycle, then exit")
    once.add_argument("--wait", action="store_true", help="track a triggered switchover to its end")
    status = sub.add_parser(
        "status", parents=[common, output], help="what would happen now (or --at a time) and why"
    )
    status.add_argument(
        "--at",
        type=_iso_time,
        help="evaluate at this future time (ISO-8601 with offset); the past is in `history`",
    )
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
        help=ignore_window_help(),
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
    demo.add_argument(
        "--listen", default="127.0.0.1:9108", type=_listen, help="metrics address (HOST:PORT)"
    )
    demo.add_argument(
        "--speed",
        type=_speed,
        default=60.0,
        help="virtual seconds per real second (default: %(default)s)",
    )
    sub.add_parser(
        "simulator", add_help=False, help="serve the DWS emulator (see simulator --help)"
    )
    return parser


def ignore_window_help() -> str:
    """Said from the decision code's own table, so the help cannot drift from what is bypassed."""
    bypassed = ", ".join(sorted(IGNORE_WINDOW_BYPASSES))
    return f"bypass only these guards: {bypassed}; every other guard still applies"


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
    except BrokenPipeError:  # `history | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except OSError as exc:  # e.g. the listen address is taken
        print(f"dws-rebalancer: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        try:
            from controller.app.demo import run_demo

            return asyncio.run(run_demo(forever=args.forever, listen=args.listen, speed=args.speed))
        except KeyboardInterrupt:  # before or after the demo's own Ctrl-C handling: still clean
            print("\ndemo interrupted (Ctrl-C)")
            return 0
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
    from controller.app.service import serve_controller

    await serve_controller(settings, reset_journal=args.reset_journal)
    return 0


async def _once(settings: Settings, args: argparse.Namespace) -> int:
    from controller.app.switchover import wait_for_tracking

    clock = CLOCK
    async with assemble(settings, clock=clock, reset_journal=args.reset_journal) as parts:
        report = await parts.reconciler.reconcile_once(clock.now())
        print_decisions(report.decisions, args.output, sys.stdout)
        if args.wait:
            await wait_for_tracking(parts.reconciler, settings, clock, sys.stdout)
    return 0


async def _status(settings: Settings, args: argparse.Namespace) -> int:
    clock = CLOCK
    now = clock.now()
    if args.at is not None and args.at < now:
        # The journal knows onsets and switchovers only up to now: judging an earlier instant
        # against them would be incoherent (an onset after `--at`), so the past is `history`'s.
        raise UsageError(
            f"--at {args.at.isoformat()} is in the past: status looks ahead "
            "(see `history` for what happened)"
        )
    async with assemble(settings, clock=clock, access=Access.READ) as parts:
        views = await parts.reconciler.preview(args.at or now, observed=now)
    print_views(views, args.output, sys.stdout)
    return 0


def _require_journal(settings: Settings) -> Path:
    if not settings.journal_path.exists():
        raise UsageError(f"no journal at {settings.journal_path} (has the controller run yet?)")
    return settings.journal_path


def _cluster_id(journal: Journal, id_or_name: str) -> str | None:
    """The id of a cluster the journal knows, by id or by its latest name; None if unknown."""
    names = journal.cluster_names()
    if id_or_name in names:
        return id_or_name
    return next((cid for cid, name in names.items() if name == id_or_name), None)


def _known_cluster_id(journal: Journal, id_or_name: str) -> str:
    cluster_id = _cluster_id(journal, id_or_name)
    if cluster_id is None:
        raise UsageError(f"no cluster {id_or_name!r} in the journal {journal.path}")
    return cluster_id


async def _history(settings: Settings, args: argparse.Namespace) -> int:
    with Journal.open_read_only(_require_journal(settings)) as journal:
        cluster_id = _cluster_id(journal, args.cluster) if args.cluster else None
        if args.cluster and cluster_id is None:
            items = []
        else:
            items = journal.history(cluster_id=cluster_id, since=args.since)
    if not items and args.output == "table":
        print(_nothing_recorded(args))
    print_history(items, args.output, sys.stdout)
    return 0


def _nothing_recorded(args: argparse.Namespace) -> str:
    scope = f" for cluster {args.cluster}" if args.cluster else ""
    since = f" since {args.since.isoformat(timespec='seconds')}" if args.since else ""
    return f"no switchovers, decision changes or operator actions recorded{scope}{since}"


async def _check_config(settings: Settings, args: argparse.Namespace) -> int:
    print(
        f"configuration OK: endpoint {settings.endpoint}, project {settings.project_id}, "
        f"auth {settings.auth.method}, dry_run={settings.dry_run}"
    )
    journal_ok, verdict = _journal_verdict(settings.journal_path)
    print(verdict)
    async with dws_client(settings) as client:
        clusters = await client.list_clusters(settings.enterprise_project_id)
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


async def _switchover(settings: Settings, args: argparse.Namespace) -> int:
    from controller.app.switchover import UnknownCluster, switchover_command

    try:
        return await switchover_command(
            settings,
            args.cluster,
            ignore_window=args.ignore_window,
            wait=args.wait,
            clock=CLOCK,
            out=sys.stdout,
        )
    except UnknownCluster as exc:
        raise UsageError(str(exc)) from None


async def _pause(settings: Settings, args: argparse.Namespace) -> int:
    paused = args.command == "pause"
    now = CLOCK.now()
    with Journal.open(settings.journal_path, now=now) as journal:
        journal.set_paused(paused, at=now, reason=getattr(args, "reason", None), by="cli")
    print("paused: the controller will not act from its next cycle" if paused else "resumed")
    return 0


async def _reset_breaker(settings: Settings, args: argparse.Namespace) -> int:
    now = CLOCK.now()
    with Journal.open(_require_journal(settings), now=now, create=False) as journal:
        cluster_id = _known_cluster_id(journal, args.cluster)
        journal.reset_breaker(cluster_id, at=now, by="cli")
    print(f"breaker of {args.cluster} reset: it may switch over again once the guards allow")
    return 0
