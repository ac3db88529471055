"""The `switchover` command: act under the actor lock, or ask the controller that holds it.

With no other actor, the command holds the journal's actor lock and POSTs itself. Beside a
running controller it records a request instead, and `--wait` follows it (read-only) until the
controller has answered it and the switchover has ended. Also: following `once --wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from typing import TextIO, TypeVar

from controller.app.bootstrap import Access, Parts, assemble
from controller.app.output import print_decisions
from controller.clock import Clock
from controller.config_types import format_duration
from controller.journal import Journal, JournalInUse, RequestState, SwitchoverRequest
from controller.loop.cycle import Reconciler
from controller.loop.requests import no_action_sentence, request_ttl
from controller.model import Action, Cluster, Decision, Outcome, SwitchoverRecord
from controller.settings import Settings

T = TypeVar("T")

#: The longest pause between two reads of the journal while `--wait` follows a request.
FOLLOW_STEP_SECONDS = 1.0


class UnknownCluster(Exception):
    """The cluster named on the command line is not in the project (bad input: exit 2)."""


def outcome_line(record: SwitchoverRecord) -> str:
    took = record.interruption_seconds
    error = f": {record.error}" if record.error and record.outcome is not Outcome.SUCCEEDED else ""
    return (
        f"{record.cluster_name}: switchover {record.outcome} (interruption "
        f"{'unknown' if took is None else f'{took:.1f}s'}){error}"
    )


async def wait_for_tracking(
    reconciler: Reconciler, settings: Settings, clock: Clock, out: TextIO
) -> list[SwitchoverRecord]:
    """Track this process's switchovers to their end, printing each outcome."""
    ended: list[SwitchoverRecord] = []
    while reconciler.tracked:
        await asyncio.sleep(settings.tracking_interval.total_seconds())
        for record in (await reconciler.track_once(clock.now())).finished:
            out.write(outcome_line(record) + "\n")
            ended.append(record)
    return ended


async def switchover_command(
    settings: Settings,
    cluster: str,
    *,
    ignore_window: bool,
    wait: bool,
    clock: Clock,
    out: TextIO,
    target: str | None = None,
) -> int:
    """0 when sent (or requested) and, with `wait`, succeeded; 1 when nothing was done or it failed.

    In a fleet, `target` says whose cluster it is (needed when several targets are owned).
    """
    async with contextlib.AsyncExitStack() as stack:
        try:
            parts = await stack.enter_async_context(assemble(settings, clock=clock, only=target))
        except JournalInUse as busy:
            return await _ask_the_controller(
                settings, cluster, ignore_window, wait, clock, out, busy, target
            )
        return await _act(parts, cluster, ignore_window, wait, clock, out)


async def _judge(
    parts: Parts, wanted: str, ignore_window: bool, now: dt.datetime, out: TextIO
) -> tuple[Cluster, Decision]:
    """The manual decision, printed; a non-action adds one sentence saying nothing was sent.

    It is the loop's own judgement (`Reconciler.preview`), only with `--ignore-window` applied.
    """
    views = await parts.reconciler.preview(now, observed=now, ignore_window=ignore_window)
    view = next((v for v in views if wanted in (v.cluster.id, v.cluster.name)), None)
    if view is None or view.decision is None:
        raise UnknownCluster(f"no cluster {wanted!r} in project {parts.settings.project_id}")
    decision = view.decision
    print_decisions([decision], "table", out)
    if decision.action is not Action.SWITCHOVER:
        out.write(no_action_sentence(decision) + "\n")
    return view.cluster, decision


async def _act(
    parts: Parts, wanted: str, ignore_window: bool, wait: bool, clock: Clock, out: TextIO
) -> int:
    """No other actor: act ourselves, holding the actor lock (taken by `assemble`).

    The request is recorded and answered by the loop's own request stage, exactly as a running
    controller would answer it: one decision path for every switchover.
    """
    now = clock.now()
    cluster, decision = await _judge(parts, wanted, ignore_window, now, out)
    if decision.action is not Action.SWITCHOVER:
        return 1
    request = parts.journal.request_switchover(
        cluster.id, ignore_window=ignore_window, at=now, by="cli"
    )
    report = await parts.reconciler.answer_request(request.id, now)
    record = next(iter(report.started + report.finished), None)
    if record is None:  # the cluster changed between the two looks: the request says why
        answered = parts.journal.switchover_request(request.id)
        why = f"{answered.reason}): {answered.detail}" if answered else "unknown)"
        out.write(f"{cluster.name}: request {request.id} refused ({why}\n")
        return 1
    out.write(
        f"{record.cluster_name}: switchover {'accepted' if record.confirmed else 'sent'}"
        f"{'' if record.outcome is None else f', {record.outcome}: {record.error}'}\n"
    )
    if record.outcome is not None:
        return 1  # rejected: nothing runs on DWS
    if wait:
        ended = await wait_for_tracking(parts.reconciler, parts.settings, clock, out)
        return 0 if all(r.outcome is Outcome.SUCCEEDED for r in ended) else 1
    return 0


async def _ask_the_controller(
    settings: Settings,
    wanted: str,
    ignore_window: bool,
    wait: bool,
    clock: Clock,
    out: TextIO,
    busy: JournalInUse,
    target: str | None,
) -> int:
    """Another process acts on the journal: record a request for it instead of POSTing."""
    now = clock.now()
    # The same guards, asked read-only first, so a plain "no" needs no round trip.
    async with assemble(settings, clock=clock, access=Access.READ, only=target) as parts:
        cluster, decision = await _judge(parts, wanted, ignore_window, now, out)
        owner = parts.settings.target
    if decision.action is not Action.SWITCHOVER:
        return 1
    with Journal.open(settings.journal_path, now=now) as opened:  # no actor lock: one row
        request = opened.scoped(owner).request_switchover(
            cluster.id, ignore_window=ignore_window, at=now, by="cli"
        )
    holder = "another process" if busy.pid is None else f"pid {busy.pid}"
    out.write(
        f"{cluster.name}: switchover requested (request {request.id}); the controller holding"
        f" the journal ({holder}) carries it out on its next cycle, through the same guards\n"
    )
    return await _follow(settings, request.id, cluster.name, clock, out) if wait else 0


async def _follow(settings: Settings, request_id: int, name: str, clock: Clock, out: TextIO) -> int:
    """Read the journal until the request is answered and its switchover has ended."""
    step = min(settings.tracking_interval.total_seconds(), FOLLOW_STEP_SECONDS)
    # Past the TTL the controller refuses the request as expired; one poll more to see it.
    pickup = request_ttl(settings.poll_interval) + settings.poll_interval
    ending = settings.switchover_timeout + 2 * settings.poll_interval
    with Journal.open_read_only(settings.journal_path, follow=True) as journal:
        request = await _poll(
            lambda: _answered(journal.switchover_request(request_id)), pickup, step, clock
        )
        if request is None:
            out.write(
                f"{name}: request {request_id} unanswered after {format_duration(pickup)}; is the"
                " controller running? An unanswered request expires, it is never carried out late\n"
            )
            return 1
        if request.switchover_id is None:
            out.write(
                f"{name}: request {request_id} refused ({request.reason}): {request.detail}\n"
            )
            return 1
        out.write(
            f"{name}: the controller sent the switchover (switchover {request.switchover_id})\n"
        )
        switchover_id = request.switchover_id
        record = await _poll(lambda: _ended(journal.switchover(switchover_id)), ending, step, clock)
    if record is None:
        out.write(
            f"{name}: switchover {switchover_id} still running after {format_duration(ending)};"
            " the controller keeps following it\n"
        )
        return 1
    out.write(outcome_line(record) + "\n")
    return 0 if record.outcome is Outcome.SUCCEEDED else 1


def _answered(request: SwitchoverRequest | None) -> SwitchoverRequest | None:
    return None if request is None or request.state is RequestState.PENDING else request


def _ended(record: SwitchoverRecord | None) -> SwitchoverRecord | None:
    return None if record is None or record.outcome is None else record


async def _poll(
    probe: Callable[[], T | None], limit: dt.timedelta, step: float, clock: Clock
) -> T | None:
    """`probe()` every `step` seconds until it answers or `limit` has passed (None then)."""
    deadline = clock.monotonic() + limit.total_seconds()
    while True:  # another process writes the journal: nothing to await but time
        found = probe()
        if found is not None or clock.monotonic() >= deadline:
            return found
        await asyncio.sleep(step)
