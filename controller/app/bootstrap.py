"""Assembling a controller from settings: actor lock, journal (the unreadable rule), client, metrics."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from prometheus_client import CollectorRegistry

from controller.app.credentials import auth_from_settings
from controller.clock import Clock, SystemClock
from controller.dws.client import DwsClient
from controller.guards.load import gated
from controller.journal import MEMORY, ActorLock, Journal, JournalUnreadable
from controller.load.sources import LoadSources
from controller.loop.cycle import Reconciler
from controller.loop.deps import LoopDeps
from controller.loop.inflight import InFlight
from controller.model import Caution
from controller.notify.notifier import Notifier, running_notifier
from controller.record.fleet_metrics import TargetRegistries
from controller.record.metrics import Metrics, NotificationMetrics, register_process_metrics
from controller.record.recorder import Recorder, Sink
from controller.record.sinks.journal import JournalSink
from controller.record.sinks.log import LogSink
from controller.record.sinks.metrics import MetricsSink
from controller.settings import ConfigError, Settings
from controller.targets import Target, fleet, owned

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("controller.app.bootstrap")

#: A StatefulSet pod's name (the downward API): its ordinal owns a share of the targets.
POD_NAME_ENV = "POD_NAME"


class Access(StrEnum):
    """How a command uses the journal."""

    #: `run`, `once`, `switchover`: hold the actor lock, create or migrate the journal.
    ACT = "act"
    #: `status`: read only; a missing journal is an empty history and is not created.
    READ = "read"


def open_journal(
    settings: Settings, now: dt.datetime, *, reset: bool = False
) -> tuple[Journal, dt.datetime | None]:
    """The journal, and the caution time when it could not be read.

    An unreadable journal is never replaced silently: the controller runs on an in-memory journal
    and treats every cluster as switched over at start-up (one cooldown), until the file is moved
    aside or `--reset-journal` keeps it as a backup.
    """
    path = settings.journal_path
    if reset and path.exists():
        backup = Journal.reset(path, now=now)
        log.warning("journal_reset", path=str(path), backup=str(backup))
    try:
        journal = Journal.open(path, now=now)
    except JournalUnreadable as exc:
        fix = "move the file aside or start with --reset-journal (keeps a backup)"
        return _in_memory_with_caution(path, exc, now, fix=fix)
    if journal.created:
        log.warning("starting_without_history", path=str(path))
    return journal, None


def read_journal(settings: Settings, now: dt.datetime) -> tuple[Journal, dt.datetime | None]:
    """The journal opened read-only, and the caution time when it could not be read.

    Never creates, migrates or writes the file: a missing one is an empty in-memory history.
    """
    path = settings.journal_path
    if not path.exists():
        return Journal.open(MEMORY, now=now), None
    try:
        return Journal.open_read_only(path), None
    except JournalUnreadable as exc:
        return _in_memory_with_caution(path, exc, now)


def _in_memory_with_caution(
    path: Path, exc: JournalUnreadable, now: dt.datetime, **advice: str
) -> tuple[Journal, dt.datetime]:
    """An unreadable journal: said loudly, and every cluster treated as switched over `now`."""
    log.error(
        "journal_unreadable",
        path=str(path),
        error=str(exc),
        consequence="no history: every cluster is treated as switched over now (one cooldown)",
        **advice,
    )
    return Journal.open(MEMORY, now=now), now


@dataclass
class Parts:
    """One target's controller: its settings, client, scoped journal, metrics and cycle."""

    settings: Settings
    client: DwsClient
    journal: Journal
    metrics: Metrics
    reconciler: Reconciler
    #: What `/metrics` serves: the process's series and every target's, labelled.
    registry: CollectorRegistry


@dataclass
class Fleet:
    """Every owned target's parts, the shared journal, and the registry `/metrics` serves."""

    settings: Settings
    journal: Journal
    registry: CollectorRegistry
    targets: list[Parts]


@contextlib.asynccontextmanager
async def assemble(
    settings: Settings,
    *,
    clock: Clock | None = None,
    auth_clock: Clock | None = None,
    access: Access = Access.ACT,
    reset_journal: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    sinks: Sequence[Sink] = (),
    time_scale: float = 1.0,
    only: str | None = None,
) -> AsyncIterator[Parts]:
    """The one target a command is about: the only one, or `only` (see `assemble_fleet`)."""
    async with assemble_fleet(
        settings,
        clock=clock,
        auth_clock=auth_clock,
        access=access,
        reset_journal=reset_journal,
        transport=transport,
        sinks=sinks,
        time_scale=time_scale,
        only=only,
    ) as fleet:
        if len(fleet.targets) != 1:
            names = ", ".join(p.settings.target for p in fleet.targets)
            raise ConfigError(f"which target? say TARGET/CLUSTER or --target ({names})")
        yield fleet.targets[0]


@contextlib.asynccontextmanager
async def assemble_fleet(
    settings: Settings,
    *,
    clock: Clock | None = None,
    auth_clock: Clock | None = None,
    access: Access = Access.ACT,
    reset_journal: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    sinks: Sequence[Sink] = (),
    time_scale: float = 1.0,
    only: str | None = None,
) -> AsyncIterator[Fleet]:
    """Everything a command needs for each owned target (`only`: that one), closed in order.

    `sinks` are added after the journal, metrics and log sinks (the demo's narrator).
    `Access.ACT` raises `JournalInUse` while another process acts on the same journal.
    """
    clock = clock or SystemClock()
    mine = owned(settings, os.environ.get(POD_NAME_ENV))
    chosen = _chosen(mine, only)
    with contextlib.ExitStack() as held:
        journal, caution = _journal(settings, clock.now(), access, reset_journal, held)
        cautions = handover_cautions(settings, journal, mine, clock.now(), caution)
        registry = CollectorRegistry(auto_describe=True)
        register_process_metrics(registry)
        labelled = TargetRegistries()
        registry.register(labelled)
        async with contextlib.AsyncExitStack() as stack:
            notifier = await stack.enter_async_context(
                notifications(settings, access, journal, registry, clock, auth_clock, transport)
            )
            in_flight = InFlight() if len(chosen) > 1 else None
            built = _Built(
                stack, clock, auth_clock, transport, time_scale, in_flight, labelled, registry
            )
            parts = [
                await built.target(t, journal, cautions[t.name], [*sinks], notifier) for t in chosen
            ]
            yield Fleet(settings, journal, registry, parts)


def _chosen(owned: tuple[Target, ...], only: str | None) -> tuple[Target, ...]:
    if only is None:
        return owned
    chosen = tuple(t for t in owned if t.name == only)
    if not chosen:
        names = ", ".join(t.name for t in owned)
        raise ConfigError(f"no target {only!r} here (targets: {names})")
    return chosen


def _journal(
    settings: Settings,
    now: dt.datetime,
    access: Access,
    reset: bool,
    held: contextlib.ExitStack,
) -> tuple[Journal, dt.datetime | None]:
    """The journal (under the actor lock when acting) and the unreadable-journal caution."""
    if access is Access.ACT:
        if str(settings.journal_path) != MEMORY:  # before a reset: never move one in use
            held.enter_context(ActorLock.acquire(settings.journal_path))
        journal, caution = open_journal(settings, now, reset=reset)
    else:
        journal, caution = read_journal(settings, now)
    held.enter_context(journal)  # closed before the lock is released
    return journal, caution


def handover_cautions(
    settings: Settings,
    journal: Journal,
    owned: tuple[Target, ...],
    now: dt.datetime,
    unreadable: dt.datetime | None,
) -> dict[str, Caution | None]:
    """Each owned target's caution (all of them: `--target` picks among them afterwards, and the
    journal's record of what is owned stays whole). A target new to this journal waits
    `sharding.handover_caution` (and one cooldown): its old owner may still run during a rollout.

    New to a journal that existed, or to any journal of a sharded controller (its volume cannot
    know what another replica did); a fresh journal of one replica starts as it always did.
    """
    if unreadable is not None:
        return {t.name: Caution(unreadable) for t in owned}
    known = journal.owned_targets()
    wary = settings.sharding.replicas > 1 or not journal.created
    handover = Caution(now, settings.sharding.handover_caution, "target newly owned")
    cautions = {t.name: handover if wary and t.name not in known else None for t in owned}
    if not journal.read_only:
        journal.set_owned_targets([t.name for t in owned], at=now)
    for name, caution in cautions.items():
        if caution is not None:
            log.warning(
                "target_newly_owned", dws_target=name, caution_until=str(now + caution.at_least)
            )
    return cautions


@dataclass(frozen=True)
class _Built:
    """What every target's parts are made with."""

    stack: contextlib.AsyncExitStack
    clock: Clock
    auth_clock: Clock | None
    transport: httpx.AsyncBaseTransport | None
    time_scale: float
    in_flight: InFlight | None
    labelled: TargetRegistries
    registry: CollectorRegistry

    async def target(
        self,
        target: Target,
        journal: Journal,
        caution: Caution | None,
        sinks: list[Sink],
        notifier: Notifier | None,
    ) -> Parts:
        settings, scoped = target.settings, journal.scoped(target.name)
        metrics = Metrics(process=False)
        self.labelled.add(
            metrics.registry, target=target.name, region=target.region, project=target.project_id
        )
        enter = self.stack.enter_async_context
        client = await enter(dws_client(settings, self.auth_clock, self.transport, metrics))
        load = await enter(load_sources(settings, client, self.transport))
        if notifier is not None:
            sinks.append(notifier.sink_for(settings))
        recorder = record_to(scoped, metrics, sinks)
        deps = LoopDeps(
            settings, client, scoped, recorder, self.clock, self.time_scale, load, self.in_flight
        )
        reconciler = Reconciler(deps, caution=caution)
        if self.in_flight is not None:
            self.in_flight.watch(reconciler.tracked)
        return Parts(settings, client, scoped, metrics, reconciler, self.registry)


@contextlib.asynccontextmanager
async def notifications(
    settings: Settings,
    access: Access,
    journal: Journal,
    registry: CollectorRegistry,
    clock: Clock,
    auth_clock: Clock | None,
    transport: httpx.AsyncBaseTransport | None,
) -> AsyncIterator[Notifier | None]:
    """One notifier for every target (SMN signed with the top-level credentials, the first
    target's when the top level names no project); `status` reads, so only an actor tells."""
    if not (access is Access.ACT and settings.notify.channels):
        yield None
        return
    signer = settings if settings.project_id else fleet(settings)[0].settings
    async with running_notifier(
        settings,
        auth=auth_from_settings(signer, auth_clock or SystemClock()),
        journal=journal,
        metrics=NotificationMetrics(registry),
        clock=clock,
        transport=transport,
    ) as notifier:
        yield notifier


@contextlib.asynccontextmanager
async def load_sources(
    settings: Settings, client: DwsClient, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[LoadSources | None]:
    """Cloud Eye and Prometheus, signed like DWS, when some policy has a load gate; else None."""
    if not any(gated(policy) for policy in settings.policies()):
        yield None
        return
    sources = LoadSources(settings, client.auth, transport)
    try:
        yield sources
    finally:
        await sources.aclose()


def record_to(journal: Journal, metrics: Metrics, extra: Sequence[Sink] = ()) -> Recorder:
    """The recorder and its sinks, in order: the journal first (the durable row), then the rest.
    A new sink is one module in `controller/record/sinks/` plus one line here."""
    return Recorder([JournalSink(journal), MetricsSink(metrics), LogSink(), *extra])


def dws_client(
    settings: Settings,
    auth_clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    metrics: Metrics | None = None,
) -> DwsClient:
    """The DWS client alone (`check-config` needs no journal); use it as an async context."""
    clock = auth_clock or SystemClock()
    return DwsClient(
        endpoint=settings.endpoint,
        project_id=settings.project_id,
        auth=auth_from_settings(settings, clock),
        timeout=settings.request_timeout.total_seconds(),
        transport=transport,
        on_request=None if metrics is None else metrics.observe_api_request,
        on_unexpected=None if metrics is None else metrics.observe_unexpected_response,
        clock=clock,
    )
