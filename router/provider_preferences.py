"""OpenRouter's `provider` request preferences applied to a ranked list of routes.

Pure: the dispatcher hands over its ranking and gets back the routes to try, in order.
`only` and `ignore` keep and drop backends by name; `order` puts the named backends first, in
that order; `sort` re-ranks by price, throughput or latency; `max_price` drops routes dearer than
the ceiling (USD per 1M tokens, as OpenRouter takes it); `allow_fallbacks: false` keeps only the
first route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from policies import Candidate
from router.schemas import ProviderPreferences

R = TypeVar("R")
UNKNOWN = float("inf")


def _price(candidate: Candidate) -> float:
    return candidate.prompt_price_per_mtok + candidate.completion_price_per_mtok


def _sort_key(sort: str, candidate: Candidate) -> float:
    stats = candidate.stats
    if sort == "price":
        return _price(candidate)
    if sort == "latency":
        return stats.ttft_ms if stats.ttft_ms is not None else UNKNOWN
    return -(stats.decode_tokens_per_s or 0.0)  # throughput: fastest first


def apply_preferences(
    routes: Sequence[R], candidate_of: dict[int, Candidate], preferences: ProviderPreferences
) -> list[R]:
    """`routes` filtered and re-ordered; `candidate_of` maps id(route) to its candidate."""

    def candidate(route: R) -> Candidate:
        return candidate_of[id(route)]

    kept = list(routes)
    if preferences.only is not None:
        allowed = set(preferences.only)
        kept = [r for r in kept if candidate(r).backend in allowed]
    if preferences.ignore:
        ignored = set(preferences.ignore)
        kept = [r for r in kept if candidate(r).backend not in ignored]
    if preferences.max_price is not None:
        ceiling = preferences.max_price
        kept = [
            r
            for r in kept
            if (ceiling.prompt is None or candidate(r).prompt_price_per_mtok <= ceiling.prompt)
            and (
                ceiling.completion is None
                or candidate(r).completion_price_per_mtok <= ceiling.completion
            )
        ]
    if preferences.sort is not None:
        sort = preferences.sort
        kept.sort(key=lambda r: _sort_key(sort, candidate(r)))  # stable: ties keep the ranking
    if preferences.order:
        position = {name: i for i, name in enumerate(preferences.order)}
        last = len(position)
        kept.sort(key=lambda r: position.get(candidate(r).backend, last))
    if preferences.allow_fallbacks is False:
        kept = kept[:1]
    return kept
