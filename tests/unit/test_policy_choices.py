"""Each built-in policy's choice under constructed backend tables: pure inputs, no sockets."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import Candidate, Ranked, RequestFeatures, RouteStats, load_policy
from policies.filters import admissible
from policies.local_first import LOCAL_MAX_QUEUE_DEPTH, LOCAL_MAX_TTFT_MS
from policies.weighted import WeightedPolicy
from tests.unit.routes import a_request, a_route

BUILT_INS = ["first-route", "local-first", "cost", "latency", "least-busy", "weighted"]
RANKING_BY_MERIT = ["local-first", "cost", "latency", "least-busy", "weighted"]

REQUEST = a_request(max_tokens=200, is_stream=True)


def route(backend: str, locality: str = "cloud", **fields: object) -> Candidate:
    is_local = locality == "local"
    values: dict[str, object] = {
        "prompt_price_per_mtok": 0.0 if is_local else 1.0,
        "completion_price_per_mtok": 0.0 if is_local else 2.0,
        "max_concurrency": 4,
        "context_length": 32768,
    }
    return a_route(backend=backend, locality=locality, **{**values, **fields})


def with_stats(candidate: Candidate, **stats: object) -> Candidate:
    return dataclasses.replace(candidate, stats=RouteStats(**stats))  # type: ignore[arg-type]


def order(
    policy: str, candidates: list[Candidate], request: RequestFeatures = REQUEST
) -> list[str]:
    return order_of(load_policy(policy).rank(request, candidates))


def choose(policy: str, candidates: list[Candidate], request: RequestFeatures = REQUEST) -> str:
    """What the dispatcher would try first: filters, then the policy."""
    kept, _ = admissible(request, candidates)
    return load_policy(policy).rank(request, kept)[0].candidate.backend


LOCAL = route("gpu", "local")
CHEAP_CLOUD = route("cheap", prompt_price_per_mtok=0.5, completion_price_per_mtok=1.0)
DEAR_CLOUD = route("dear", prompt_price_per_mtok=3.0, completion_price_per_mtok=15.0)


def test_every_built_in_is_registered_by_name() -> None:
    for name in BUILT_INS:
        assert load_policy(name).name == name


def test_local_first_fills_local_then_overflows_to_the_cheapest_cloud_and_comes_back() -> None:
    clouds = [DEAR_CLOUD, CHEAP_CLOUD]
    served = [
        choose("local-first", [with_stats(LOCAL, in_flight=in_flight), *clouds])
        for in_flight in (0, 3, 4, 5, 3)
    ]
    assert served == ["gpu", "gpu", "cheap", "cheap", "gpu"]


def test_local_first_ranks_local_with_room_then_cloud_by_cost_then_full_local() -> None:
    full_local = with_stats(route("gpu-full", "local"), in_flight=4)
    ranking = load_policy("local-first").rank(REQUEST, [full_local, DEAR_CLOUD, CHEAP_CLOUD, LOCAL])
    assert [r.candidate.backend for r in ranking] == ["gpu", "cheap", "dear", "gpu-full"]
    assert [r.reason for r in ranking] == [
        "local, 0/4 in flight",
        "cloud overflow, $0.000700 expected",
        "cloud overflow, $0.006000 expected",
        "local but full, 4/4 in flight",
    ]


def test_local_first_prefers_the_least_loaded_local_worker() -> None:
    busier = with_stats(route("gpu-1", "local"), in_flight=2)
    idler = with_stats(route("gpu-2", "local", max_concurrency=16), in_flight=4)
    assert order("local-first", [busier, idler]) == ["gpu-2", "gpu-1"]


def test_local_first_overflows_when_the_local_queue_is_too_long() -> None:
    queued = with_stats(LOCAL, queue_depth=LOCAL_MAX_QUEUE_DEPTH + 1)
    assert order("local-first", [queued, CHEAP_CLOUD]) == ["cheap", "gpu"]
    short_queue = with_stats(LOCAL, queue_depth=LOCAL_MAX_QUEUE_DEPTH)
    assert order("local-first", [short_queue, CHEAP_CLOUD]) == ["gpu", "cheap"]


def test_local_first_overflows_when_local_ttft_is_too_slow() -> None:
    slow = with_stats(LOCAL, ttft_ms=LOCAL_MAX_TTFT_MS + 1)
    ranking = load_policy("local-first").rank(REQUEST, [slow, CHEAP_CLOUD])
    assert [r.candidate.backend for r in ranking] == ["cheap", "gpu"]
    assert ranking[1].reason == f"local but full, TTFT {LOCAL_MAX_TTFT_MS + 1:.0f} ms"


def test_local_first_queues_locally_when_every_route_is_full() -> None:
    full_local = with_stats(LOCAL, in_flight=4)
    full_cloud = with_stats(CHEAP_CLOUD, in_flight=4)
    assert choose("local-first", [full_cloud, full_local]) == "cheap"
    assert choose("local-first", [full_local]) == "gpu"


def test_cost_picks_the_cheapest_route_for_the_request() -> None:
    assert order("cost", [DEAR_CLOUD, CHEAP_CLOUD, LOCAL]) == ["gpu", "cheap", "dear"]


def test_a_long_prompt_flips_the_cheapest_route() -> None:
    cheap_input = route("cheap-input", prompt_price_per_mtok=0.1, completion_price_per_mtok=10.0)
    cheap_output = route("cheap-output", prompt_price_per_mtok=5.0, completion_price_per_mtok=1.0)
    chat = dataclasses.replace(REQUEST, prompt_tokens_estimate=100, max_tokens=1000)
    summary = dataclasses.replace(REQUEST, prompt_tokens_estimate=20_000, max_tokens=100)
    assert choose("cost", [cheap_input, cheap_output], chat) == "cheap-output"
    assert choose("cost", [cheap_input, cheap_output], summary) == "cheap-input"


def test_cost_counts_the_per_request_price() -> None:
    flat_fee = dataclasses.replace(CHEAP_CLOUD, backend="flat-fee", request_price=0.01)
    assert order("cost", [flat_fee, DEAR_CLOUD]) == ["dear", "flat-fee"]


def test_latency_prefers_the_lower_predicted_ttft() -> None:
    fast = with_stats(route("fast"), ttft_ms=150.0)
    slow = with_stats(route("slow"), ttft_ms=400.0)
    assert order("latency", [slow, fast]) == ["fast", "slow"]


def test_latency_counts_the_queue_ahead() -> None:
    fast_but_queued = with_stats(route("fast"), ttft_ms=150.0, queue_depth=3, latency_ms=2000.0)
    slow_but_idle = with_stats(route("slow"), ttft_ms=400.0, latency_ms=2000.0)
    ranking = load_policy("latency").rank(REQUEST, [fast_but_queued, slow_but_idle])
    assert [r.candidate.backend for r in ranking] == ["slow", "fast"]
    assert [r.reason for r in ranking] == ["TTFT 400 ms predicted", "TTFT 1650 ms predicted"]


def test_latency_judges_a_non_streamed_request_by_its_total_time() -> None:
    quick_start = with_stats(route("quick-start"), ttft_ms=100.0, decode_tokens_per_s=20.0)
    quick_decode = with_stats(route("quick-decode"), ttft_ms=600.0, decode_tokens_per_s=200.0)
    candidates = [quick_start, quick_decode]
    assert order("latency", candidates) == ["quick-start", "quick-decode"]
    whole = dataclasses.replace(REQUEST, is_stream=False)
    assert order("latency", candidates, whole) == ["quick-decode", "quick-start"]


def test_least_busy_compares_load_relative_to_capacity() -> None:
    small = with_stats(route("small", max_concurrency=4), in_flight=2)
    large = with_stats(route("large", max_concurrency=64), in_flight=16)
    assert order("least-busy", [small, large]) == ["large", "small"]


def test_least_busy_breaks_ties_by_queue_depth() -> None:
    queued = with_stats(route("queued"), in_flight=2, queue_depth=5)
    clear = with_stats(route("clear"), in_flight=2)
    ranking = load_policy("least-busy").rank(REQUEST, [queued, clear])
    assert [r.candidate.backend for r in ranking] == ["clear", "queued"]
    assert ranking[1].reason == "2/4 in flight, 5 queued"


def test_weighted_leads_in_proportion_to_weight_over_many_calls() -> None:
    policy = WeightedPolicy()
    candidates = [route("a", weight=3.0), route("b", weight=1.0)]
    firsts = Counter(policy.rank(REQUEST, candidates)[0].candidate.backend for _ in range(400))
    assert firsts == {"a": 300, "b": 100}


def test_weighted_interleaves_rather_than_bursts() -> None:
    policy = WeightedPolicy()
    candidates = [route("a", weight=3.0), route("b", weight=1.0)]
    firsts = [policy.rank(REQUEST, candidates)[0].candidate.backend for _ in range(8)]
    assert firsts == ["a", "a", "b", "a"] * 2


@given(weights=st.lists(st.integers(1, 6), min_size=1, max_size=6), rounds=st.integers(1, 5))
def test_weighted_shares_are_exact_over_whole_rounds(weights: list[int], rounds: int) -> None:
    policy = WeightedPolicy()
    candidates = [route(f"r{i}", weight=float(w)) for i, w in enumerate(weights)]
    calls = sum(weights) * rounds
    firsts = Counter(policy.rank(REQUEST, candidates)[0].candidate.backend for _ in range(calls))
    assert firsts == {f"r{i}": w * rounds for i, w in enumerate(weights)}


def test_weighted_never_prefers_a_zero_weight_route() -> None:
    policy = WeightedPolicy()
    candidates = [route("zero", weight=0.0), route("a", weight=1.0), route("b", weight=2.0)]
    rankings = [order_of(policy.rank(REQUEST, candidates)) for _ in range(30)]
    assert all(ranking[-1] == "zero" for ranking in rankings)


def test_weighted_rotates_each_model_on_its_own() -> None:
    policy = WeightedPolicy()
    candidates = [route("a", weight=1.0), route("b", weight=1.0)]
    other_model = dataclasses.replace(REQUEST, model="mistral")
    assert policy.rank(REQUEST, candidates)[0].candidate.backend == "a"
    assert policy.rank(other_model, candidates)[0].candidate.backend == "a"
    assert policy.rank(REQUEST, candidates)[0].candidate.backend == "b"


def order_of(ranking: list[Ranked]) -> list[str]:
    return [r.candidate.backend for r in ranking]


@pytest.mark.parametrize("policy", RANKING_BY_MERIT)
def test_degraded_routes_rank_after_healthy_ones(policy: str) -> None:
    # The degraded route is the best by every measure: local, free, idle, fast, heavily weighted.
    degraded = route(
        "degraded",
        "local",
        weight=100.0,
        stats=RouteStats(state="degraded", ttft_ms=10.0, decode_tokens_per_s=1000.0),
    )
    healthy = with_stats(DEAR_CLOUD, in_flight=3, ttft_ms=900.0)
    ranking = load_policy(policy).rank(REQUEST, [degraded, healthy])
    assert order_of(ranking) == ["dear", "degraded"]
    assert ranking[1].reason.endswith(", degraded")


stats_strategy = st.builds(
    RouteStats,
    state=st.sampled_from(["healthy", "degraded"]),
    in_flight=st.integers(0, 100),
    queue_depth=st.integers(0, 50),
    ttft_ms=st.none() | st.floats(0, 1e5),
    decode_tokens_per_s=st.none() | st.floats(0, 1e4),
    latency_ms=st.none() | st.floats(0, 1e6),
)
candidates_strategy = st.lists(
    st.builds(
        route,
        backend=st.text("abcdef", min_size=1, max_size=3),
        locality=st.sampled_from(["local", "cloud"]),
        prompt_price_per_mtok=st.floats(0, 100),
        completion_price_per_mtok=st.floats(0, 100),
        request_price=st.floats(0, 1),
        max_concurrency=st.integers(1, 64),
        weight=st.floats(0, 10),
        stats=stats_strategy,
    ),
    max_size=12,
)


@pytest.mark.parametrize("policy", BUILT_INS)
@given(
    candidates=candidates_strategy,
    prompt_tokens=st.integers(0, 200_000),
    max_tokens=st.none() | st.integers(0, 100_000),
    is_stream=st.booleans(),
)
def test_rankings_are_permutations_with_ascending_scores_and_degraded_last(
    policy: str,
    candidates: list[Candidate],
    prompt_tokens: int,
    max_tokens: int | None,
    is_stream: bool,
) -> None:
    request = dataclasses.replace(
        REQUEST, prompt_tokens_estimate=prompt_tokens, max_tokens=max_tokens, is_stream=is_stream
    )
    given_order = list(candidates)
    ranking = load_policy(policy).rank(request, candidates)
    assert candidates == given_order
    assert sorted(id(r.candidate) for r in ranking) == sorted(id(c) for c in candidates)
    scores = [r.score for r in ranking]
    assert all(math.isfinite(s) for s in scores)
    assert scores == sorted(scores)
    assert all(r.reason for r in ranking)
    if policy != "first-route":
        states = [r.candidate.stats.state for r in ranking]
        assert states == sorted(states, key=lambda state: state == "degraded")
