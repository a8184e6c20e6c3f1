"""OpenRouter's provider preferences over a ranking: pure filtering and re-ordering."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from policies import Candidate, RouteStats
from router.provider_preferences import apply_preferences
from router.schemas import MaxPrice, ProviderPreferences

NAMES = ["gpu-a", "gpu-b", "cloud-fast", "cloud-cheap"]


def candidate(name: str, price: float = 1.0, ttft_ms: float | None = None) -> Candidate:
    return Candidate(
        route_index=NAMES.index(name),
        backend=name,
        upstream_model="m",
        locality="cloud" if name.startswith("cloud") else "local",
        prompt_price_per_mtok=price,
        completion_price_per_mtok=price,
        max_concurrency=8,
        context_length=8192,
        stats=RouteStats(ttft_ms=ttft_ms, decode_tokens_per_s=100.0 / (price + 1.0)),
    )


def apply(candidates: list[Candidate], **preferences: object) -> list[str]:
    chosen = apply_preferences(
        candidates, {id(c): c for c in candidates}, ProviderPreferences.model_validate(preferences)
    )
    return [c.backend for c in chosen]


RANKING = [candidate("gpu-a", 0.0, 900), candidate("cloud-fast", 5.0, 100),
           candidate("cloud-cheap", 0.5, 400)]  # fmt: skip


def test_no_preferences_keep_the_ranking() -> None:
    assert apply(RANKING) == ["gpu-a", "cloud-fast", "cloud-cheap"]


def test_order_puts_named_backends_first_in_that_order() -> None:
    assert apply(RANKING, order=["cloud-cheap", "cloud-fast"]) == [
        "cloud-cheap", "cloud-fast", "gpu-a",
    ]  # fmt: skip


def test_only_and_ignore_filter_by_backend_name() -> None:
    assert apply(RANKING, only=["cloud-fast", "gpu-b"]) == ["cloud-fast"]
    assert apply(RANKING, ignore=["gpu-a"]) == ["cloud-fast", "cloud-cheap"]


def test_sort_by_price_latency_and_throughput() -> None:
    assert apply(RANKING, sort="price") == ["gpu-a", "cloud-cheap", "cloud-fast"]
    assert apply(RANKING, sort="latency") == ["cloud-fast", "cloud-cheap", "gpu-a"]
    assert apply(RANKING[1:], sort="throughput") == ["cloud-cheap", "cloud-fast"]


def test_max_price_drops_dearer_routes() -> None:
    ranking = apply_preferences(
        RANKING,
        {id(c): c for c in RANKING},
        ProviderPreferences(max_price=MaxPrice(prompt=1.0, completion=1.0)),
    )
    assert [c.backend for c in ranking] == ["gpu-a", "cloud-cheap"]


def test_without_fallbacks_only_the_first_route_is_tried() -> None:
    assert apply(RANKING, allow_fallbacks=False) == ["gpu-a"]
    assert apply(RANKING, allow_fallbacks=True) == ["gpu-a", "cloud-fast", "cloud-cheap"]


@given(
    order=st.lists(st.sampled_from(NAMES), unique=True),
    ignore=st.lists(st.sampled_from(NAMES), unique=True),
    sort=st.none() | st.sampled_from(["price", "latency", "throughput"]),
)
def test_preferences_only_ever_remove_and_reorder(
    order: list[str], ignore: list[str], sort: str | None
) -> None:
    chosen = apply(RANKING, order=order, ignore=ignore, sort=sort)
    assert sorted(chosen) == sorted(c.backend for c in RANKING if c.backend not in ignore)
    named_first = [name for name in chosen if name in order]
    assert chosen[: len(named_first)] == named_first
    assert named_first == [name for name in order if name in named_first]
