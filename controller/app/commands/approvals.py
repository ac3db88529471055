"""The people-in-the-loop commands: approve and veto, beside a running controller as `pause` is.

Each writes one journal row in a short transaction; the controller's next cycle reads it. The
actor is `--actor`, else the OS user name. A bad argument is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import re

from controller.app import context
from controller.config_types import parse_duration
from controller.journal import Journal
from controller.loop import operator
from controller.settings import Settings


async def approve(settings: Settings, args: argparse.Namespace) -> int:
    print(_record(settings, args, operator.approve).sentence)
    return 0


async def veto(settings: Settings, args: argparse.Namespace) -> int:
    print(_record(settings, args, operator.veto).sentence)
    return 0


def _record(settings: Settings, args: argparse.Namespace, say: operator.Say) -> operator.Said:
    now = context.CLOCK.now()
    until = None if args.until is None else parse_until(args.until, now)
    with Journal.open(context.require_journal(settings), now=now, create=False) as journal:
        try:
            return say(
                journal,
                settings,
                args.cluster,
                now=now,
                by=args.actor or user_name(),
                until=until,
                reason=args.reason,
            )
        except operator.Refused as exc:
            raise context.UsageError(str(exc)) from None


def parse_until(text: str, now: dt.datetime) -> dt.datetime:
    """An ISO-8601 time with an offset, or a duration ahead of now (`2h`, `3d`)."""
    if re.match(r"\d{4}-", text):
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise context.UsageError(f"--until: not an ISO-8601 time: {text!r}") from None
        if value.tzinfo is None:
            raise context.UsageError(
                f"--until {text!r} needs a UTC offset, e.g. 2026-12-01T02:00+08:00"
            )
        return value
    try:
        return now + parse_duration(text)
    except (ValueError, OverflowError) as exc:
        raise context.UsageError(f"--until: {exc}, or an ISO-8601 time with an offset") from None


def user_name() -> str:
    """The OS user running the command; `unknown` where there is none (a bare container)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
