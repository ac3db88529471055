"""The commands that act on DWS, holding the journal's actor lock: run, once, switchover."""

from __future__ import annotations

import argparse
import sys

from controller.app import context
from controller.app.bootstrap import assemble_fleet
from controller.app.output import print_decisions
from controller.settings import Settings


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from controller.app.service import serve_controller

    await serve_controller(settings, reset_journal=args.reset_journal)
    return 0


async def once(settings: Settings, args: argparse.Namespace) -> int:
    from controller.app.switchover import wait_for_tracking

    clock = context.CLOCK
    only = args.target
    async with assemble_fleet(
        settings, clock=clock, reset_journal=args.reset_journal, only=only
    ) as fleet:
        for parts in fleet.targets:
            report = await parts.reconciler.reconcile_once(clock.now())
            label = parts.settings.target if settings.targets else None
            print_decisions(report.decisions, args.output, sys.stdout, target=label)
        for parts in fleet.targets if args.wait else ():
            await wait_for_tracking(parts.reconciler, parts.settings, clock, sys.stdout)
    return 0


async def switchover(settings: Settings, args: argparse.Namespace) -> int:
    from controller.app.switchover import UnknownCluster, switchover_command

    try:
        target, cluster = context.split_target(args.cluster, args.target)
        return await switchover_command(
            settings,
            cluster,
            target=target,
            ignore_window=args.ignore_window,
            wait=args.wait,
            clock=context.CLOCK,
            out=sys.stdout,
        )
    except UnknownCluster as exc:
        raise context.UsageError(str(exc)) from None
