"""The circuit breaker that takes a failing backend out of rotation and lets it back in.

Pure state machine: the caller reports outcomes and passes `now` (monotonic seconds); nothing
here reads a clock. Closed → open on consecutive failures or a high error rate; open → half-open
when the cooldown has passed; half-open admits one probe whose outcome closes or re-opens it.
A 429 is not a failure: it only keeps the backend out until its Retry-After has passed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_threshold: int = 5
    """Consecutive failures that open the breaker."""
    window: int = 20
    """How many recent outcomes the error rate is taken over."""
    min_samples: int = 10
    """The error rate trips the breaker only once the window holds this many outcomes."""
    error_rate_threshold: float = 0.5
    """The breaker opens when the window's error rate exceeds this share."""
    cooldown_s: float = 10.0
    """How long the breaker stays open the first time; doubled on each re-open."""
    max_cooldown_s: float = 120.0
    default_retry_after_s: float = 1.0
    """How long a 429 without a usable Retry-After keeps the backend out."""
    max_retry_after_s: float = 300.0
    """A cap on Retry-After, so one odd header cannot take a backend out for a day."""
    probe_timeout_s: float = 300.0
    """After this long without a report the half-open probe is presumed lost and another may go.
    A safety net: the caller is meant to report every admitted attempt."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or not 1 <= self.min_samples <= self.window:
            raise ValueError("failure_threshold must be >= 1 and min_samples in [1, window]")
        if not 0.0 <= self.error_rate_threshold <= 1.0:
            raise ValueError("error_rate_threshold must be between 0 and 1")
        if not 0.0 < self.cooldown_s <= self.max_cooldown_s:
            raise ValueError("cooldown_s must be positive and at most max_cooldown_s")


class CircuitBreaker:
    """One backend's breaker. Outcomes are not tied to attempts: in half-open, any report is
    taken as the probe's, which is harmless for the late report of an attempt admitted before the
    breaker opened (a success closes it, a failure re-opens it)."""

    __slots__ = (
        "_config",
        "_consecutive_failures",
        "_cooldown_s",
        "_cooldown_until",
        "_failures_in_window",
        "_open_until",
        "_probe_admitted_at",
        "_window",
    )

    def __init__(self, config: BreakerConfig | None = None) -> None:
        self._config = config or BreakerConfig()
        self._window: deque[bool] = deque(maxlen=self._config.window)
        """Recent outcomes while closed; True for a failure."""
        self._failures_in_window = 0
        self._consecutive_failures = 0
        self._open_until: float | None = None
        """None while closed; once `now` reaches it the breaker is half-open."""
        self._cooldown_s = self._config.cooldown_s
        self._probe_admitted_at: float | None = None
        self._cooldown_until: float | None = None

    @property
    def config(self) -> BreakerConfig:
        return self._config

    @property
    def open_until(self) -> float | None:
        """When the current open period ends (then half-open); None while closed."""
        return self._open_until

    @property
    def cooldown_until(self) -> float | None:
        """Until when a 429's Retry-After keeps the backend out; None if no 429 was seen."""
        return self._cooldown_until

    @property
    def cooldown_s(self) -> float:
        """How long the breaker stays (or will stay) open this time."""
        return self._cooldown_s

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    @property
    def is_probe_out(self) -> bool:
        return self._probe_admitted_at is not None

    def state(self, now: float) -> BreakerState:
        if self._open_until is None:
            return "closed"
        return "open" if now < self._open_until else "half_open"

    def is_rate_limited(self, now: float) -> bool:
        return self._cooldown_until is not None and now < self._cooldown_until

    def allow(self, now: float) -> bool:
        """Whether an attempt may go now; in half-open, a True takes the single probe slot."""
        if self.is_rate_limited(now):
            return False
        state = self.state(now)
        if state == "closed":
            return True
        if state == "open":
            return False
        admitted_at = self._probe_admitted_at
        if admitted_at is not None and now - admitted_at < self._config.probe_timeout_s:
            return False
        self._probe_admitted_at = now
        return True

    def record_success(self, now: float) -> None:
        state = self.state(now)
        if state == "half_open":
            self._close()
        elif state == "closed":
            self._consecutive_failures = 0
            self._push(failed=False)
        # While open, a success is the late report of an attempt admitted before: no evidence.

    def record_failure(self, now: float) -> None:
        state = self.state(now)
        if state == "half_open":
            self._open(now, self._next_cooldown_s())
        elif state == "closed":
            self._consecutive_failures += 1
            self._push(failed=True)
            if self._should_trip():
                self._open(now, self._config.cooldown_s)

    def record_rate_limited(self, now: float, retry_after_s: float | None) -> None:
        """A 429: the backend is skipped until Retry-After has passed; not a failure."""
        config = self._config
        if retry_after_s is None or not retry_after_s >= 0.0:  # also rejects NaN
            retry_after_s = config.default_retry_after_s
        until = now + min(retry_after_s, config.max_retry_after_s)
        if self._cooldown_until is None or until > self._cooldown_until:
            self._cooldown_until = until
        self._probe_admitted_at = None

    def record_abandoned(self) -> None:
        """An admitted attempt ended with no verdict on the backend (the client went away)."""
        self._probe_admitted_at = None

    def _push(self, *, failed: bool) -> None:
        window = self._window
        if len(window) == window.maxlen and window[0]:
            self._failures_in_window -= 1
        window.append(failed)
        self._failures_in_window += failed

    def _should_trip(self) -> bool:
        config = self._config
        if self._consecutive_failures >= config.failure_threshold:
            return True
        samples = len(self._window)
        return (
            samples >= config.min_samples
            and self._failures_in_window / samples > config.error_rate_threshold
        )

    def _next_cooldown_s(self) -> float:
        return min(self._cooldown_s * 2.0, self._config.max_cooldown_s)

    def _open(self, now: float, cooldown_s: float) -> None:
        self._cooldown_s = cooldown_s
        self._open_until = now + cooldown_s
        self._probe_admitted_at = None

    def _close(self) -> None:
        self._open_until = None
        self._cooldown_s = self._config.cooldown_s
        self._probe_admitted_at = None
        self._consecutive_failures = 0
        # The failures that opened the breaker must not count against the recovered backend.
        self._window.clear()
        self._failures_in_window = 0
