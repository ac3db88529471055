"""The notification sink: turns recorder events into notices and queues them; never does I/O.

A switchover's end waits for its probe when one runs: the message then says what clients felt,
not only the control plane's interruption. It waits until the probe reports (`ProbeFinished` or
`ProbeSkipped`), or until the cycle clock passes the switchover's end plus the probe's tail and
`PROBE_WAIT` (a probe that never reports must not swallow the message), or until the controller
stops.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Protocol

from controller.model import ClientImpact, Outcome, SwitchoverRecord, Trigger
from controller.notify.compose import Target
from controller.notify.notices import Notice, notice_for
from controller.record.events import (
    CycleFailed,
    CycleFinished,
    Event,
    ProbeFinished,
    ProbeSkipped,
    SwitchoverFinished,
)
from controller.settings import Settings

#: How long past `end + tail` a switchover's end waits for its probe's measurement.
PROBE_WAIT = dt.timedelta(minutes=2)
_ENDS = frozenset({"succeeded", "failed", "timed_out"})


class Offer(Protocol):
    def offer(self, notice: Notice, target: Target | None = None) -> None: ...


def target_of(settings: Settings) -> Target:
    """What a target's messages name besides the cluster: its project and region."""
    notify = settings.notify
    return Target(settings.project_id, settings.region, notify.dashboard_url, notify.language)


class NotifySink:
    durable = False

    def __init__(self, notifier: Offer, settings: Settings) -> None:
        self.notifier = notifier
        self.settings = settings
        self.target = target_of(settings)
        self._last_finished: dict[str, str] = {}  # cluster id -> its last switchover's start
        self._held: dict[str, tuple[Notice, dt.datetime]] = {}  # record key -> notice, until
        self._unprobed: set[str] = set()  # record keys whose probe could not start

    def handle(self, event: Event) -> None:
        match event:
            case ProbeFinished(record=record, impact=impact):
                self._measured(_key(record), impact)
            case ProbeSkipped(record=record):
                self._unprobed.add(_key(record))
                self._measured(_key(record), None)
            case CycleFinished(at=at) | CycleFailed(at=at):
                self._release_due(at)
        notice = notice_for(event, self._last_finished)
        if isinstance(event, SwitchoverFinished):
            self._last_finished[event.record.cluster_id] = event.record.started.isoformat()
            if notice is not None:
                notice = self._finished(event.record, notice)
        if notice is not None:
            self._offer(notice)

    def _offer(self, notice: Notice) -> None:
        if notice.event == "unhealthy":  # a controller-wide event, but each target has its own
            notice = replace(notice, key=f"{notice.key}:{self.settings.target}")
        self.notifier.offer(notice, self.target)

    def flush(self) -> None:
        """Send every held message as it is (the controller is stopping)."""
        for notice, _ in self._held.values():
            self._offer(notice)
        self._held.clear()

    def _finished(self, record: SwitchoverRecord, notice: Notice) -> Notice | None:
        """The end notice with its next eligible time; None while it waits for the probe."""
        policy = self.settings.policy_for(record.cluster_id, record.cluster_name)
        if record.ended is not None:
            notice = replace(notice, next_eligible=record.ended + policy.cooldown)
        key = _key(record)
        probed = (
            policy.probe.enabled
            and record.trigger is not Trigger.EXTERNAL
            and record.outcome is not Outcome.REJECTED
            and key not in self._unprobed
        )
        if not probed or notice.event not in _ENDS or notice.client is not None:
            self._unprobed.discard(key)
            return notice
        ended = record.ended or record.started
        self._held[key] = (replace(notice, probed=True), ended + policy.probe.tail + PROBE_WAIT)
        return None

    def _measured(self, key: str, impact: ClientImpact | None) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            self._unprobed.discard(key)
            self._offer(replace(held[0], client=impact))

    def _release_due(self, now: dt.datetime) -> None:
        for key in [k for k, (_, until) in self._held.items() if now >= until]:
            self._offer(self._held.pop(key)[0])


def _key(record: SwitchoverRecord) -> str:
    return f"{record.cluster_id}:{record.started.isoformat()}"
