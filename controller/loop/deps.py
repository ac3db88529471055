"""What every stage of the loop works with, in one frozen bag (built once by `app.bootstrap`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.clock import Clock, SystemClock
from controller.dws.client import DwsClient
from controller.journal import Journal
from controller.load.sources import LoadSources
from controller.loop.inflight import InFlight
from controller.record.recorder import Recorder
from controller.settings import Settings


@dataclass(frozen=True)
class LoopDeps:
    """The loop reads the journal directly; it writes only through `recorder` (events)."""

    settings: Settings
    client: DwsClient
    journal: Journal
    recorder: Recorder
    #: For what runs beside the cycle (the data-plane probe); the cycle itself is handed `now`.
    clock: Clock = field(default_factory=SystemClock)
    #: How much faster than real time `clock` runs (the demo's); 1 in production.
    time_scale: float = 1.0
    #: Cloud Eye and Prometheus, when a policy has a load gate (None: no policy has one).
    load: LoadSources | None = None
    #: Switchovers in flight across every target (`max_concurrent_total`); None: one target.
    in_flight: InFlight | None = None
