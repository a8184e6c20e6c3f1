"""Expected cost and predicted latency of a request on one route, from prices and live stats."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import Candidate, RouteStats
from policies.cost_model import (
    DEFAULT_COMPLETION_TOKENS,
    DEFAULT_DECODE_TOKENS_PER_S,
    DEFAULT_TTFT_MS,
    expected_cost_usd,
    predicted_total_ms,
    predicted_ttft_ms,
    requests_ahead,
)
from tests.unit.routes import a_request, a_route

REQUEST = a_request()


def route(**fields: object) -> Candidate:
    cloud = {"locality": "cloud", "prompt_price_per_mtok": 2.0,
             "completion_price_per_mtok": 8.0, "max_concurrency": 4}  # fmt: skip
    return a_route(**{**cloud, **fields})


def test_cost_is_tokens_at_per_million_prices_plus_the_request_price() -> None:
    candidate = route(request_price=0.001)
    assert expected_cost_usd(REQUEST, candidate) == pytest.approx(
        (1000 * 2.0 + 500 * 8.0) / 1e6 + 0.001
    )


def test_without_max_tokens_the_default_completion_length_is_priced() -> None:
    request = dataclasses.replace(REQUEST, max_tokens=None)
    assert expected_cost_usd(request, route()) == pytest.approx(
        (1000 * 2.0 + DEFAULT_COMPLETION_TOKENS * 8.0) / 1e6
    )


@given(
    prompt=st.integers(0, 10**6),
    extra_prompt=st.integers(0, 10**6),
    completion=st.integers(0, 10**5),
    extra_completion=st.integers(0, 10**5),
    prompt_price=st.floats(0, 1000),
    completion_price=st.floats(0, 1000),
)
def test_cost_never_falls_as_tokens_grow(
    prompt: int,
    extra_prompt: int,
    completion: int,
    extra_completion: int,
    prompt_price: float,
    completion_price: float,
) -> None:
    candidate = route(
        prompt_price_per_mtok=prompt_price, completion_price_per_mtok=completion_price
    )
    smaller = dataclasses.replace(REQUEST, prompt_tokens_estimate=prompt, max_tokens=completion)
    larger = dataclasses.replace(
        smaller,
        prompt_tokens_estimate=prompt + extra_prompt,
        max_tokens=completion + extra_completion,
    )
    cost = expected_cost_usd(smaller, candidate)
    assert 0.0 <= cost <= expected_cost_usd(larger, candidate)
    assert math.isfinite(cost)


def test_an_unmeasured_idle_route_gets_the_default_ttft() -> None:
    assert predicted_ttft_ms(route()) == DEFAULT_TTFT_MS


def test_a_route_with_a_free_slot_answers_in_its_measured_ttft() -> None:
    stats = RouteStats(in_flight=3, ttft_ms=120.0, latency_ms=4000.0)
    assert requests_ahead(stats, 4) == 0
    assert predicted_ttft_ms(route(stats=stats)) == 120.0


def test_each_request_ahead_adds_the_time_between_two_slots_freeing() -> None:
    # 4 slots, each request takes 4 s: one frees every second.
    stats = RouteStats(in_flight=5, queue_depth=2, ttft_ms=120.0, latency_ms=4000.0)
    assert requests_ahead(stats, 4) == 2 + 2
    assert predicted_ttft_ms(route(stats=stats)) == pytest.approx(120.0 + 4 * 1000.0)


def test_an_unmeasured_latency_is_estimated_from_ttft_and_decode_speed() -> None:
    stats = RouteStats(in_flight=1, ttft_ms=100.0, decode_tokens_per_s=128.0)
    per_request_ms = 100.0 + DEFAULT_COMPLETION_TOKENS * 1000.0 / 128.0
    assert predicted_ttft_ms(route(max_concurrency=1, stats=stats)) == pytest.approx(
        100.0 + per_request_ms
    )


def test_total_time_adds_the_completion_at_the_decode_speed() -> None:
    stats = RouteStats(ttft_ms=200.0, decode_tokens_per_s=100.0)
    assert predicted_total_ms(REQUEST, route(stats=stats)) == pytest.approx(200.0 + 5000.0)


def test_total_time_falls_back_to_the_default_decode_speed() -> None:
    request = dataclasses.replace(REQUEST, max_tokens=None)
    for unknown in (None, 0.0):
        stats = RouteStats(ttft_ms=200.0, decode_tokens_per_s=unknown)
        assert predicted_total_ms(request, route(stats=stats)) == pytest.approx(
            200.0 + DEFAULT_COMPLETION_TOKENS * 1000.0 / DEFAULT_DECODE_TOKENS_PER_S
        )


@given(
    in_flight=st.integers(0, 200),
    more=st.integers(0, 200),
    queue_depth=st.integers(0, 200),
    max_concurrency=st.integers(1, 64),
    ttft_ms=st.none() | st.floats(0, 1e5),
    latency_ms=st.none() | st.floats(0, 1e6),
)
def test_predicted_ttft_is_finite_and_never_falls_as_load_grows(
    in_flight: int,
    more: int,
    queue_depth: int,
    max_concurrency: int,
    ttft_ms: float | None,
    latency_ms: float | None,
) -> None:
    def ttft(in_flight: int) -> float:
        stats = RouteStats(
            in_flight=in_flight, queue_depth=queue_depth, ttft_ms=ttft_ms, latency_ms=latency_ms
        )
        return predicted_ttft_ms(route(max_concurrency=max_concurrency, stats=stats))

    assert math.isfinite(ttft(in_flight))
    assert ttft(in_flight) <= ttft(in_flight + more)
