"""A token bucket: at most `rate` messages a minute per channel, in bursts of at most `burst`.

Chat webhooks throttle (DingTalk: 20 messages a minute per robot; Slack: about one a second):
a burst of events is smoothed out instead of being refused by the service. Pure: the caller
passes the monotonic time in.
"""

from __future__ import annotations

#: The default: DingTalk's documented robot limit, the tightest of the common chat apps.
DEFAULT_PER_MINUTE = 20.0
DEFAULT_BURST = 5


class TokenBucket:
    def __init__(self, per_minute: float = DEFAULT_PER_MINUTE, burst: int = DEFAULT_BURST) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.per_second = per_minute / 60.0
        self.burst = float(burst)
        self._tokens = float(burst)
        self._at: float | None = None

    def wait(self, now: float) -> float:
        """Seconds until a message may go (0: now); a 0 answer takes the token."""
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.per_second

    def _refill(self, now: float) -> None:
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
