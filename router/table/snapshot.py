"""A backend entry as the admin API shows it: plain JSON values, times also relative to now.

The table keeps monotonic timestamps, which mean nothing outside the process, so each one is
paired with how many seconds remain (or have passed) from `now`.
"""

from __future__ import annotations

from router.table.entry import BackendEntry


def describe(entry: BackendEntry, now: float) -> dict[str, object]:
    breaker = entry.breaker
    outcomes = entry.outcomes
    return {
        "state": entry.state(now),
        "admin_state": entry.admin_state,
        "breaker_state": breaker.state(now),
        "locality": entry.locality,
        "in_flight": entry.in_flight,
        "max_concurrency": entry.max_concurrency,
        "running": entry.running,
        "queue_depth": entry.queue_depth,
        "kv_cache_usage": entry.kv_cache_usage,
        "metrics_age_s": None if entry.metrics_at is None else max(0.0, now - entry.metrics_at),
        "ttft_ms": entry.ttft_ms.summary(),
        "latency_ms": entry.latency_ms.summary(),
        "decode_tokens_per_s": entry.decode_tokens_per_s.summary(),
        "recent_outcomes": len(outcomes),
        "error_rate": outcomes.rate("failure"),
        "rate_limited_rate": outcomes.rate("rate_limited"),
        "consecutive_failures": breaker.consecutive_failures,
        "last_error": entry.last_error,
        "last_probe_ok": entry.last_probe_ok,
        "cooldown_until": breaker.cooldown_until,
        "cooldown_remaining_s": _remaining(breaker.cooldown_until, now),
        "open_until": breaker.open_until,
        "open_remaining_s": _remaining(breaker.open_until, now),
    }


def _remaining(until: float | None, now: float) -> float:
    return max(0.0, until - now) if until is not None else 0.0
