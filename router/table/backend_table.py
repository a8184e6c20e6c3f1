"""The live backend table: one in-memory entry per backend that every routing decision reads.

Real traffic (`start`/`finish`), active probes and scraped worker metrics write to it; policies
read `route_stats` (cached per backend, see `entry.py`); the dispatcher asks `admit` right
before each attempt, since the circuit breaker may hold the backend back.
Pure: no I/O and no clock; every method that needs the time takes `now` (monotonic seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.base import Locality, RouteStats
from router.table.breaker import BreakerConfig, CircuitBreaker
from router.table.entry import AdminState, BackendEntry
from router.table.outcome import classify
from router.table.snapshot import describe
from router.table.stats import OutcomeWindow, SignalStats


@dataclass(frozen=True, slots=True)
class TableConfig:
    ewma_alpha: float = 0.2
    window: int = 50
    """How many recent samples percentiles and outcome rates are taken over."""
    degraded_error_rate: float = 0.2
    """Above this recent error rate a backend that is still in rotation reads as degraded."""
    breaker: BreakerConfig = field(default_factory=BreakerConfig)


class BackendTable:
    __slots__ = ("_config", "_entries")

    def __init__(self, config: TableConfig | None = None) -> None:
        self._config = config or TableConfig()
        self._entries: dict[str, BackendEntry] = {}

    def __contains__(self, backend: object) -> bool:
        return backend in self._entries

    def names(self) -> list[str]:
        return list(self._entries)

    def add_backend(
        self,
        name: str,
        *,
        locality: Locality,
        max_concurrency: int,
        breaker: BreakerConfig | None = None,
        is_gated: bool = True,
    ) -> None:
        """Adds a backend; for one already present (a config reload) keeps its live figures.
        `breaker` overrides the table's breaker settings; `is_gated=False` keeps the backend in
        rotation whatever its breaker says."""
        entry = self._entries.get(name)
        if entry is not None:
            entry.locality, entry.max_concurrency = locality, max_concurrency
            entry.is_gated = is_gated
            entry.version += 1
            return
        config = self._config
        self._entries[name] = BackendEntry(
            name=name,
            locality=locality,
            max_concurrency=max_concurrency,
            breaker=CircuitBreaker(breaker or config.breaker),
            is_gated=is_gated,
            ttft_ms=SignalStats(alpha=config.ewma_alpha, window=config.window),
            latency_ms=SignalStats(alpha=config.ewma_alpha, window=config.window),
            decode_tokens_per_s=SignalStats(alpha=config.ewma_alpha, window=config.window),
            outcomes=OutcomeWindow(config.window),
            degraded_error_rate=config.degraded_error_rate,
        )

    def remove_backend(self, name: str) -> None:
        self._entries.pop(name, None)

    def set_admin_state(self, backend: str, state: AdminState) -> None:
        entry = self._entries[backend]
        entry.admin_state = state
        entry.version += 1

    def admit(self, backend: str, now: float) -> bool:
        """Whether an attempt may go to the backend now; call right before the attempt, since in
        half-open a True takes the breaker's single probe slot."""
        entry = self._entries[backend]
        return entry.admin_state == "enabled" and (not entry.is_gated or entry.breaker.allow(now))

    def start(self, backend: str) -> None:
        entry = self._entries[backend]
        entry.in_flight += 1
        entry.version += 1

    # Reports below drop a backend that is gone: in-flight requests and probes outlive a removal.

    def finish(
        self,
        backend: str,
        now: float,
        *,
        ok: bool,
        latency_ms: float,
        status: int | None = None,
        ttft_ms: float | None = None,
        completion_tokens: int | None = None,
        decode_ms: float | None = None,
        error: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """An attempt's result. `decode_ms` runs from the first token to the last."""
        entry = self._entries.get(backend)
        if entry is None:
            return
        entry.in_flight = max(0, entry.in_flight - 1)
        entry.version += 1
        outcome = classify(ok=ok, status=status)
        entry.outcomes.add(outcome)
        breaker = entry.breaker
        if outcome == "success":
            if ttft_ms is not None:
                entry.ttft_ms.add(ttft_ms)
            entry.latency_ms.add(latency_ms)
            # n tokens span n - 1 inter-token gaps after the first, which ttft already covers.
            if completion_tokens and completion_tokens > 1 and decode_ms and decode_ms > 0:
                entry.decode_tokens_per_s.add((completion_tokens - 1) * 1000.0 / decode_ms)
            breaker.record_success(now)
        elif outcome == "rejected":
            breaker.record_success(now)
        elif outcome == "rate_limited":
            entry.last_error = error or "HTTP 429"
            breaker.record_rate_limited(now, retry_after_s)
        else:
            entry.last_error = error or (f"HTTP {status}" if status is not None else "failed")
            breaker.record_failure(now)

    def abandon(self, backend: str) -> None:
        """An attempt ended with no verdict on the backend (the client went away)."""
        entry = self._entries.get(backend)
        if entry is None:
            return
        entry.in_flight = max(0, entry.in_flight - 1)
        entry.version += 1
        entry.breaker.record_abandoned()

    def record_probe(self, backend: str, now: float, ok: bool, error: str | None = None) -> None:
        """An active health probe. A failure counts against the breaker like a failed request;
        a success ends a half-open breaker, but while closed it changes nothing, so that a
        healthy /health cannot dilute the failures of real traffic."""
        entry = self._entries.get(backend)
        if entry is None:
            return
        entry.last_probe_ok = ok
        entry.version += 1
        breaker = entry.breaker
        if ok:
            if breaker.state(now) == "half_open":
                breaker.record_success(now)
        else:
            entry.last_error = error or "probe failed"
            breaker.record_failure(now)

    def record_metrics(
        self,
        backend: str,
        now: float,
        running: int | None = None,
        waiting: int | None = None,
        kv_cache_usage: float | None = None,
    ) -> None:
        """One scrape of the worker's metrics; None is unknown and replaces an older figure."""
        entry = self._entries.get(backend)
        if entry is None:
            return
        entry.running, entry.queue_depth, entry.kv_cache_usage = running, waiting, kv_cache_usage
        entry.metrics_at = now
        entry.version += 1

    def route_stats(self, backend: str, now: float) -> RouteStats:
        """The backend's live figures as policies see them; cheap, cached between writes."""
        return self._entries[backend].route_stats(now)

    def snapshot(self, now: float) -> dict[str, dict[str, object]]:
        """Every backend's figures, JSON-ready, for the admin API."""
        return {name: describe(entry, now) for name, entry in self._entries.items()}
