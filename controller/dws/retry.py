"""Retrying DWS reads: which failures are transient, how long to wait, and the budget it all fits in."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import stamina

from controller.clock import Clock
from controller.dws.errors import DwsApiError, DwsTransportError, ServerError, ThrottledError

#: 5xx, 429 and lost connections may succeed next time; anything else will not.
RETRYABLE = (ServerError, ThrottledError, DwsTransportError)


@dataclass(frozen=True)
class RetryPolicy:
    """How reads are retried: full-jitter exponential backoff, or the server's Retry-After (capped),
    all within `budget` seconds."""

    budget: float = 30.0
    max_attempts: int = 8
    wait_initial: float = 0.5
    wait_max: float = 8.0
    retry_after_max: float = 30.0

    def wait(
        self,
        failures: int,
        error: Exception,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> float:
        """Seconds to wait after the `failures`-th failure (1-based)."""
        if isinstance(error, DwsApiError) and error.retry_after is not None:
            return min(error.retry_after, self.retry_after_max)
        return uniform(0.0, min(self.wait_max, self.wait_initial * 2 ** (failures - 1)))

    def hook(self, clock: Clock) -> Callable[[Exception], bool | float]:
        """A fresh stamina backoff hook for one call, its budget starting now."""
        return _RetryHook(self, clock)

    def caller(self) -> stamina.AsyncRetryingCaller:
        # The hook enforces the budget on the injected clock; stamina's own timeout is a
        # wall-clock backstop (None for a zero budget, which stamina would warn about).
        return stamina.AsyncRetryingCaller(attempts=self.max_attempts, timeout=self.budget or None)


class _RetryHook:
    """stamina backoff hook for one call: retry only transient errors, never past the budget."""

    def __init__(self, policy: RetryPolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._deadline = clock.monotonic() + policy.budget
        self._failures = 0

    def __call__(self, error: Exception) -> bool | float:
        if not isinstance(error, RETRYABLE):
            return False
        self._failures += 1
        wait = self._policy.wait(self._failures, error)
        # Give up now rather than sleep into (or past) the end of the budget.
        return wait if self._clock.monotonic() + wait < self._deadline else False
