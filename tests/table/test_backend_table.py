"""The live backend table: bookkeeping of traffic, the state policies see, and its caching."""

from __future__ import annotations

import json

import pytest

from policies import RouteStats
from router.table import BackendTable, BreakerConfig, TableConfig


@pytest.fixture
def table() -> BackendTable:
    table = BackendTable(TableConfig(breaker=BreakerConfig(failure_threshold=3, cooldown_s=10.0)))
    table.add_backend("gpu", locality="local", max_concurrency=8)
    table.add_backend("cloud", locality="cloud", max_concurrency=100)
    return table


def succeed(table: BackendTable, backend: str, now: float, **figures: float) -> None:
    table.start(backend)
    table.finish(backend, now, ok=True, status=200, latency_ms=figures.pop("latency_ms", 500.0))


def fail(table: BackendTable, backend: str, now: float, status: int | None = 502) -> None:
    table.start(backend)
    table.finish(backend, now, ok=False, status=status, latency_ms=50.0, error=f"upstream {status}")


def test_a_new_backend_is_healthy_with_no_figures(table: BackendTable) -> None:
    assert table.route_stats("gpu", 0.0) == RouteStats(state="healthy")
    assert "gpu" in table
    assert table.names() == ["gpu", "cloud"]


def test_in_flight_counts_started_requests_until_they_finish(table: BackendTable) -> None:
    table.start("gpu")
    table.start("gpu")
    assert table.route_stats("gpu", 0.0).in_flight == 2
    table.finish("gpu", 1.0, ok=True, latency_ms=100.0)
    assert table.route_stats("gpu", 1.0).in_flight == 1
    table.abandon("gpu")
    assert table.route_stats("gpu", 1.0).in_flight == 0
    assert table.route_stats("cloud", 1.0).in_flight == 0


def test_in_flight_never_goes_negative(table: BackendTable) -> None:
    table.finish("gpu", 0.0, ok=True, latency_ms=100.0)
    table.abandon("gpu")
    assert table.route_stats("gpu", 0.0).in_flight == 0


def test_a_success_feeds_ttft_latency_and_decode_speed(table: BackendTable) -> None:
    table.start("gpu")
    table.finish(
        "gpu",
        1.0,
        ok=True,
        status=200,
        ttft_ms=120.0,
        latency_ms=2120.0,
        completion_tokens=101,
        decode_ms=2000.0,
    )
    stats = table.route_stats("gpu", 1.0)
    assert stats.ttft_ms == 120.0
    assert stats.latency_ms == 2120.0
    assert stats.decode_tokens_per_s == 50.0  # 100 gaps after the first token in 2 s
    assert stats.error_rate == 0.0


def test_a_single_token_or_unknown_decode_time_gives_no_decode_speed(table: BackendTable) -> None:
    table.finish("gpu", 1.0, ok=True, latency_ms=100.0, completion_tokens=1, decode_ms=0.0)
    table.finish("gpu", 1.0, ok=True, latency_ms=100.0, completion_tokens=50, decode_ms=None)
    assert table.route_stats("gpu", 1.0).decode_tokens_per_s is None


def test_failures_do_not_skew_latency_but_raise_the_error_rate(table: BackendTable) -> None:
    succeed(table, "gpu", 1.0, latency_ms=1000.0)
    fail(table, "gpu", 2.0)
    stats = table.route_stats("gpu", 2.0)
    assert stats.latency_ms == 1000.0
    assert stats.error_rate == 0.5
    assert stats.state == "degraded"  # above 20% errors, still in rotation
    assert table.snapshot(2.0)["gpu"]["last_error"] == "upstream 502"


def test_consecutive_failures_take_the_backend_down_until_a_probe_succeeds(
    table: BackendTable,
) -> None:
    for _ in range(3):
        fail(table, "gpu", 5.0)
    assert table.route_stats("gpu", 5.0).state == "down"
    assert not table.admit("gpu", 5.0)
    assert table.route_stats("gpu", 15.0).state == "degraded"  # half-open
    assert table.admit("gpu", 15.0)
    assert not table.admit("gpu", 15.0)  # the one probe is out
    succeed(table, "gpu", 16.0)
    assert table.admit("gpu", 16.0)
    assert table.route_stats("gpu", 16.0).state == "degraded"  # 3 of 4 recent requests failed


def test_a_request_the_backend_rejects_as_invalid_is_not_held_against_it(
    table: BackendTable,
) -> None:
    for _ in range(10):
        fail(table, "gpu", 1.0, status=400)
    stats = table.route_stats("gpu", 1.0)
    assert stats.state == "healthy"
    assert stats.error_rate == 0.0
    assert stats.latency_ms is None  # a rejection's latency says nothing about serving


def test_a_connection_error_counts_as_a_failure(table: BackendTable) -> None:
    table.start("gpu")
    table.finish("gpu", 1.0, ok=False, status=None, latency_ms=5.0)
    assert table.route_stats("gpu", 1.0).error_rate == 1.0
    assert table.snapshot(1.0)["gpu"]["last_error"] == "failed"


def test_a_429_cools_the_backend_down_without_counting_as_an_error(table: BackendTable) -> None:
    table.start("cloud")
    table.finish("cloud", 100.0, ok=False, status=429, latency_ms=30.0, retry_after_s=20.0)
    stats = table.route_stats("cloud", 100.0)
    assert stats.state == "degraded"
    assert stats.error_rate == 0.0
    assert not table.admit("cloud", 119.0)
    assert table.admit("cloud", 120.0)
    row = table.snapshot(105.0)["cloud"]
    assert row["rate_limited_rate"] == 1.0
    assert row["cooldown_until"] == 120.0
    assert row["cooldown_remaining_s"] == 15.0
    assert row["breaker_state"] == "closed"
    assert row["last_error"] == "HTTP 429"


def test_admin_states_come_first_and_keep_new_attempts_out(table: BackendTable) -> None:
    table.set_admin_state("gpu", "draining")
    assert table.route_stats("gpu", 0.0).state == "draining"
    assert not table.admit("gpu", 0.0)
    for _ in range(3):
        fail(table, "gpu", 0.0)
    table.set_admin_state("gpu", "disabled")
    assert table.route_stats("gpu", 0.0).state == "disabled"
    table.set_admin_state("gpu", "enabled")
    assert table.route_stats("gpu", 0.0).state == "down"


def test_worker_metrics_feed_queue_depth_and_cache_usage(table: BackendTable) -> None:
    table.record_metrics("gpu", 1.0, running=6, waiting=3, kv_cache_usage=0.72)
    stats = table.route_stats("gpu", 1.0)
    assert (stats.queue_depth, stats.kv_cache_usage) == (3, 0.72)
    table.record_metrics("gpu", 2.0)  # a failed scrape: figures unknown again
    stats = table.route_stats("gpu", 2.0)
    assert (stats.queue_depth, stats.kv_cache_usage) == (0, None)
    assert table.snapshot(5.0)["gpu"]["metrics_age_s"] == 3.0


def test_failed_probes_take_the_backend_out_and_a_good_one_brings_it_back(
    table: BackendTable,
) -> None:
    for _ in range(3):
        table.record_probe("gpu", 1.0, ok=False, error="connect refused")
    assert table.route_stats("gpu", 1.0).state == "down"
    assert table.snapshot(1.0)["gpu"]["last_error"] == "connect refused"
    table.record_probe("gpu", 5.0, ok=True)  # still cooling down: no evidence yet
    assert table.route_stats("gpu", 5.0).state == "down"
    table.record_probe("gpu", 11.0, ok=True)
    assert table.route_stats("gpu", 11.0).state == "healthy"
    assert table.snapshot(11.0)["gpu"]["last_probe_ok"] is True


def test_a_good_probe_does_not_dilute_the_failures_of_real_traffic(table: BackendTable) -> None:
    fail(table, "gpu", 1.0)
    fail(table, "gpu", 1.0)
    table.record_probe("gpu", 1.0, ok=True)
    fail(table, "gpu", 1.0)
    assert table.route_stats("gpu", 1.0).state == "down"


def test_route_stats_is_cached_until_something_changes(table: BackendTable) -> None:
    first = table.route_stats("gpu", 1.0)
    assert table.route_stats("gpu", 2.0) is first
    succeed(table, "gpu", 3.0, latency_ms=800.0)
    updated = table.route_stats("gpu", 3.0)
    assert updated is not first
    assert updated.latency_ms == 800.0
    assert table.route_stats("gpu", 4.0) is updated


def test_cached_route_stats_turn_over_when_the_breaker_cooldown_passes(
    table: BackendTable,
) -> None:
    for _ in range(3):
        fail(table, "gpu", 0.0)
    down = table.route_stats("gpu", 0.0)
    assert down.state == "down"
    assert table.route_stats("gpu", 9.999) is down
    assert table.route_stats("gpu", 10.0).state == "degraded"


def test_cached_route_stats_turn_over_when_a_429_cooldown_passes(table: BackendTable) -> None:
    table.start("cloud")
    table.finish("cloud", 0.0, ok=False, status=429, latency_ms=1.0, retry_after_s=5.0)
    assert table.route_stats("cloud", 4.0).state == "degraded"
    # 1 of 1 recent outcomes was a 429, which is no error: healthy once the cooldown is over.
    assert table.route_stats("cloud", 5.0).state == "healthy"


def test_re_adding_a_backend_keeps_its_live_figures(table: BackendTable) -> None:
    table.start("gpu")
    table.add_backend("gpu", locality="local", max_concurrency=16)
    assert table.route_stats("gpu", 0.0).in_flight == 1
    assert table.snapshot(0.0)["gpu"]["max_concurrency"] == 16


def test_reports_about_a_removed_backend_are_dropped(table: BackendTable) -> None:
    table.start("gpu")
    table.remove_backend("gpu")
    table.finish("gpu", 1.0, ok=True, latency_ms=10.0)
    table.abandon("gpu")
    table.record_probe("gpu", 1.0, ok=False)
    table.record_metrics("gpu", 1.0, running=1)
    assert "gpu" not in table
    with pytest.raises(KeyError):
        table.route_stats("gpu", 1.0)
    with pytest.raises(KeyError):
        table.start("gpu")


def test_the_snapshot_is_json_ready_with_every_figure(table: BackendTable) -> None:
    table.start("gpu")
    table.finish(
        "gpu", 1.0, ok=True, ttft_ms=100.0, latency_ms=900.0, completion_tokens=9, decode_ms=800.0
    )
    table.start("gpu")
    snapshot = table.snapshot(2.0)
    assert json.loads(json.dumps(snapshot)) == snapshot
    row = snapshot["gpu"]
    assert set(row) == {
        "state",
        "admin_state",
        "breaker_state",
        "locality",
        "in_flight",
        "max_concurrency",
        "running",
        "queue_depth",
        "kv_cache_usage",
        "metrics_age_s",
        "ttft_ms",
        "latency_ms",
        "decode_tokens_per_s",
        "recent_outcomes",
        "error_rate",
        "rate_limited_rate",
        "consecutive_failures",
        "last_error",
        "last_probe_ok",
        "cooldown_until",
        "cooldown_remaining_s",
        "open_until",
        "open_remaining_s",
    }
    assert row["state"] == "healthy"
    assert row["in_flight"] == 1
    assert row["max_concurrency"] == 8
    assert row["ttft_ms"] == {"ewma": 100.0, "p50": 100.0, "p95": 100.0}
    assert row["latency_ms"] == {"ewma": 900.0, "p50": 900.0, "p95": 900.0}
    assert row["decode_tokens_per_s"] == {"ewma": 10.0, "p50": 10.0, "p95": 10.0}
    assert row["breaker_state"] == "closed"
    assert snapshot["cloud"]["ttft_ms"] == {"ewma": None, "p50": None, "p95": None}
