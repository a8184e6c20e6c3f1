"""One backend's row in the live table, and the RouteStats that policies see, derived from it.

The derived RouteStats is cached on the row: it is read for every candidate of every request
but changes only on a write (which bumps `version`) or when an open period or a 429 cooldown ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from policies.base import Locality, RouteState, RouteStats
from router.table.breaker import CircuitBreaker
from router.table.outcome import Outcome
from router.table.stats import OutcomeWindow, SignalStats

AdminState = Literal["enabled", "draining", "disabled"]


@dataclass(slots=True, eq=False)
class BackendEntry:
    """Everything the table knows about one backend."""

    name: str
    locality: Locality
    max_concurrency: int
    breaker: CircuitBreaker
    ttft_ms: SignalStats
    latency_ms: SignalStats
    decode_tokens_per_s: SignalStats
    outcomes: OutcomeWindow[Outcome]
    degraded_error_rate: float
    """Above this recent error rate a backend still in rotation reads as degraded."""
    admin_state: AdminState = "enabled"
    is_gated: bool = True
    """Whether the breaker and 429 cooldowns hold the backend back (an operator may turn it off)."""
    in_flight: int = 0
    running: int | None = None
    """Requests the worker reports running (its /metrics), which may include other clients'."""
    queue_depth: int | None = None
    kv_cache_usage: float | None = None
    metrics_at: float | None = None
    last_error: str | None = None
    last_probe_ok: bool | None = None
    version: int = 0
    """Bumped on every write, so the cached RouteStats knows when it is stale."""
    _cached: RouteStats | None = field(default=None, repr=False)
    _cached_version: int = field(default=-1, repr=False)
    _cached_from: float = field(default=math.inf, repr=False)
    _cached_until: float = field(default=-math.inf, repr=False)
    """The cached stats hold for `_cached_from <= now < _cached_until` while the version stands."""

    def state(self, now: float) -> RouteState:
        """The state a policy sees, most severe reason first."""
        if self.admin_state != "enabled":
            return self.admin_state
        breaker = self.breaker
        breaker_state = breaker.state(now) if self.is_gated else "closed"
        if breaker_state == "open":
            return "down"
        if breaker_state == "half_open" or (self.is_gated and breaker.is_rate_limited(now)):
            return "degraded"
        if self.outcomes.rate("failure") > self.degraded_error_rate:
            return "degraded"
        return "healthy"

    def route_stats(self, now: float) -> RouteStats:
        cached = self._cached
        if (
            cached is not None
            and self._cached_version == self.version
            and self._cached_from <= now < self._cached_until
        ):
            return cached
        stats = RouteStats(
            state=self.state(now),
            in_flight=self.in_flight,
            queue_depth=self.queue_depth or 0,
            ttft_ms=self.ttft_ms.value,
            decode_tokens_per_s=self.decode_tokens_per_s.value,
            latency_ms=self.latency_ms.value,
            error_rate=self.outcomes.rate("failure"),
            kv_cache_usage=self.kv_cache_usage,
        )
        self._cached, self._cached_version = stats, self.version
        self._cached_from, self._cached_until = now, self._next_boundary(now)
        return stats

    def _next_boundary(self, now: float) -> float:
        """The next time the state can change with no write: the end of an open period or a 429."""
        boundaries = (self.breaker.open_until, self.breaker.cooldown_until)
        return min((t for t in boundaries if t is not None and t > now), default=math.inf)
