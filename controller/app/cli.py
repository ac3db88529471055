"""The `dws-rebalancer` command line: argument parsing, exit codes and human/JSON output.

Exit codes: 0 success, 1 runtime failure (DWS unreachable, journal unusable), 2 bad usage or
configuration — always with a one-line reason, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import math
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from controller import __version__
from controller.app import context
from controller.app.commands import completion
from controller.config_types import parse_duration, parse_listen
from controller.dws.errors import DwsError
from controller.guards.registry import IGNORE_WINDOW_BYPASSES
from controller.journal import JournalError
from controller.logs import configure_logging, register_secrets
from controller.settings import ConfigError, Settings, load_settings


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
        return context.CLOCK.now() - parse_duration(text)
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
    parser = argparse.ArgumentParser(
        prog="dws-rebalancer",
        description="Keeps GaussDB(DWS) clusters balanced by running switchovers safely, off-peak.",
    )
    parser.add_argument("--version", action="version", version=f"dws-rebalancer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _SharedOptions()
    _add_acting(sub, shared)
    _add_reading(sub, shared)
    _add_operating(sub, shared)
    _add_tools(sub)
    return parser


class _SharedOptions:
    """The option groups several commands take (argparse "parent" parsers)."""

    def __init__(self) -> None:
        self.config = argparse.ArgumentParser(add_help=False)
        self.config.add_argument(
            "--config", "-c", type=Path, help="YAML config file (or DWS_REBALANCER_CONFIG)"
        )
        self.output = argparse.ArgumentParser(add_help=False)
        self.output.add_argument(
            "--output",
            "-o",
            choices=("table", "json"),
            default="table",
            help="table for people, json for scripts (one object per line) (default: %(default)s)",
        )
        self.target = argparse.ArgumentParser(add_help=False)
        self.target.add_argument(
            "--target", "-t", metavar="TARGET", help="only this target (a fleet's `targets` name)"
        )
        self.reset = argparse.ArgumentParser(add_help=False)
        self.reset.add_argument(
            "--reset-journal",
            action="store_true",
            help="move an unreadable journal aside (kept as a .bak backup) and start fresh",
        )


#: A fleet's clusters are also named with their target: names may repeat across projects.
CLUSTER_HELP = "cluster id or name (TARGET/CLUSTER in a fleet)"

Subparsers = argparse._SubParsersAction  # argparse exposes no public name for it


def _add_acting(sub: Subparsers[argparse.ArgumentParser], shared: _SharedOptions) -> None:
    common = [shared.config]
    sub.add_parser("run", parents=[*common, shared.reset], help="run the controller")
    once = sub.add_parser(
        "once",
        parents=[*common, shared.output, shared.reset, shared.target],
        help="one cycle, then exit",
    )
    once.add_argument("--wait", action="store_true", help="track a triggered switchover to its end")
    manual = sub.add_parser(
        "switchover",
        parents=[*common, shared.target],
        help="manual switchover through the same guards",
    )
    manual.add_argument("cluster", help=CLUSTER_HELP)
    manual.add_argument("--ignore-window", action="store_true", help=ignore_window_help())
    manual.add_argument("--wait", action="store_true", help="track it to its end")


def _add_reading(sub: Subparsers[argparse.ArgumentParser], shared: _SharedOptions) -> None:
    status = sub.add_parser(
        "status",
        parents=[shared.config, shared.output, shared.target],
        help="what would happen now (or --at a time) and why",
    )
    status.add_argument(
        "cluster",
        nargs="?",
        help="only this cluster (id or name), with its learned load profile under `quietest`",
    )
    status.add_argument(
        "--at",
        type=_iso_time,
        help="evaluate at this future time (ISO-8601 with offset); the past is in `history`",
    )
    history = sub.add_parser(
        "history",
        parents=[shared.config, shared.output, shared.target],
        help="switchovers and decision changes from the journal",
    )
    history.add_argument("--cluster", help=CLUSTER_HELP)
    history.add_argument("--since", type=_since, help="ISO time or duration back (24h, 7d)")
    sub.add_parser(
        "check-config", parents=[shared.config], help="validate config, authenticate, list clusters"
    )


def _add_operating(sub: Subparsers[argparse.ArgumentParser], shared: _SharedOptions) -> None:
    pause = sub.add_parser(
        "pause", parents=[shared.config], help="stop acting (from the next cycle)"
    )
    pause.add_argument("--reason", help="why; shown in status, logs and metrics")
    sub.add_parser("resume", parents=[shared.config], help="clear the pause flag")
    breaker = sub.add_parser(
        "reset-breaker",
        parents=[shared.config],
        help="close a cluster's circuit breaker after a human checked it",
    )
    breaker.add_argument("cluster", help=CLUSTER_HELP)
    _add_approvals(sub, shared)


def _add_approvals(sub: Subparsers[argparse.ArgumentParser], shared: _SharedOptions) -> None:
    approve = sub.add_parser(
        "approve",
        parents=[shared.config],
        help="let one switchover of a cluster under `approval: manual` run (default: for 24h)",
    )
    veto = sub.add_parser(
        "veto",
        parents=[shared.config],
        help="stop a cluster's announced switchover (default: that slot only)",
    )
    for parser, until in (
        (approve, "the approval expires then (default: in 24h)"),
        (veto, "veto until then instead of the announced slot only"),
    ):
        parser.add_argument("cluster", help=CLUSTER_HELP)
        parser.add_argument("--until", metavar="T", help=f"ISO time with offset or 2h, 3d: {until}")
        parser.add_argument("--reason", help="why; shown in status, history and /status")
        parser.add_argument("--actor", help="who (default: the OS user name)")


def _add_tools(sub: Subparsers[argparse.ArgumentParser]) -> None:
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
    shell = sub.add_parser(
        "completion",
        help="print a shell completion script",
        epilog=completion.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shell.add_argument("shell", choices=completion.SHELLS, help="the shell to complete for")


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
    except (ConfigError, context.UsageError) as exc:
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
    if args.command == "completion":
        print(completion.script(build_parser(), args.shell), end="")
        return 0
    if args.command == "demo":
        try:
            from controller.app.demo import run_demo

            return asyncio.run(run_demo(forever=args.forever, listen=args.listen, speed=args.speed))
        except KeyboardInterrupt:  # before or after the demo's own Ctrl-C handling: still clean
            print("\ndemo interrupted (Ctrl-C)")
            return 0
    settings = load_settings(args.config)
    configure_logging(fmt=settings.log_format, level=settings.log_level, stream=sys.stderr)
    register_secrets(*settings.secret_values())
    return asyncio.run(handler(args.command)(settings, args))


Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
#: Each command's handler: its group's module and function. A module is imported only when one
#: of its commands runs, so `--version`, `--help` and a bad argument never load the DWS client,
#: the loop or the metrics.
HANDLERS: dict[str, tuple[str, str]] = {
    "run": ("act", "run"),
    "once": ("act", "once"),
    "switchover": ("act", "switchover"),
    "status": ("read", "status"),
    "history": ("read", "history"),
    "check-config": ("read", "check_config"),
    "pause": ("operate", "pause"),
    "resume": ("operate", "resume"),
    "reset-breaker": ("operate", "reset_breaker"),
    "approve": ("approvals", "approve"),
    "veto": ("approvals", "veto"),
}


def handler(command: str) -> Handler:
    module, function = HANDLERS[command]
    found: Handler = getattr(importlib.import_module(f"controller.app.commands.{module}"), function)
    return found
