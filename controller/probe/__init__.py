"""The data-plane probe: what clients feel during a switchover, measured with `SELECT 1`.

`endpoint` picks where to connect, `check` makes one attempt, `runner` repeats it in the
background and `summary` turns the samples into the client-visible interruption.
"""

from controller.probe.endpoint import ProbeUnavailable, Target, build_target
from controller.probe.runner import Probe
from controller.probe.summary import ProbeResult, Sample, summarize

__all__ = [
    "Probe",
    "ProbeResult",
    "ProbeUnavailable",
    "Sample",
    "Target",
    "build_target",
    "summarize",
]
