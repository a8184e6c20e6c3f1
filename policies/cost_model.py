"""What a request is expected to cost and how long it is expected to take on one route.

Pure arithmetic over a candidate's prices and live stats, shared by the policies that rank by
money (`cost`, `local-first`'s cloud overflow) or by time (`latency`). Where the live table has
no measurement yet, the defaults below stand in, so a new route is neither free nor instant.
"""

from __future__ import annotations

from policies.base import Candidate, RequestFeatures, RouteStats

DEFAULT_COMPLETION_TOKENS = 256
"""Completion length assumed when the request sets no `max_tokens`: a typical chat answer."""

DEFAULT_TTFT_MS = 500.0
"""Time to first token assumed for a route with no measurement yet."""

DEFAULT_DECODE_TOKENS_PER_S = 50.0
"""Decode speed assumed for a route with no measurement yet."""

TOKENS_PER_MTOK = 1_000_000.0


def expected_completion_tokens(request: RequestFeatures) -> int:
    """The completion length to plan for: `max_tokens`, an upper bound, or the default."""
    return DEFAULT_COMPLETION_TOKENS if request.max_tokens is None else request.max_tokens


def expected_cost_usd(request: RequestFeatures, candidate: Candidate) -> float:
    """USD this request would cost here: tokens at the per-1M prices, plus the request price."""
    return cost_usd(request.prompt_tokens_estimate, expected_completion_tokens(request), candidate)


def cost_usd(prompt_tokens: int, completion_tokens: int, candidate: Candidate) -> float:
    """`expected_cost_usd` with the token counts worked out once for all candidates."""
    token_cost = (
        prompt_tokens * candidate.prompt_price_per_mtok
        + completion_tokens * candidate.completion_price_per_mtok
    )
    return token_cost / TOKENS_PER_MTOK + candidate.request_price


def decode_tokens_per_s(stats: RouteStats) -> float:
    """The route's measured decode speed, or the default when unmeasured (or nonsensical)."""
    rate = stats.decode_tokens_per_s
    return rate if rate is not None and rate > 0.0 else DEFAULT_DECODE_TOKENS_PER_S


def requests_ahead(stats: RouteStats, max_concurrency: int) -> int:
    """Requests a newcomer waits behind: the backend's own queue, plus ours once no slot is free."""
    return stats.queue_depth + max(0, stats.in_flight - max_concurrency + 1)


def slot_interval_ms(stats: RouteStats, max_concurrency: int) -> float:
    """Mean time between two slots freeing up: one request's latency shared by its peers.

    A route serving `max_concurrency` requests at once finishes one every latency/concurrency ms
    on average, so that is what each request ahead in the queue costs a newcomer.
    """
    latency_ms = stats.latency_ms
    if latency_ms is None:
        ttft_ms = DEFAULT_TTFT_MS if stats.ttft_ms is None else stats.ttft_ms
        latency_ms = ttft_ms + DEFAULT_COMPLETION_TOKENS * 1000.0 / decode_tokens_per_s(stats)
    return latency_ms / max(1, max_concurrency)


def predicted_ttft_ms(candidate: Candidate) -> float:
    """Time to first token on this route now: its recent TTFT plus the wait for a free slot."""
    stats = candidate.stats
    ttft_ms = DEFAULT_TTFT_MS if stats.ttft_ms is None else stats.ttft_ms
    ahead = requests_ahead(stats, candidate.max_concurrency)
    if ahead == 0:
        return ttft_ms
    return ttft_ms + ahead * slot_interval_ms(stats, candidate.max_concurrency)


def predicted_total_ms(request: RequestFeatures, candidate: Candidate) -> float:
    """Time to the last token: predicted TTFT plus the completion at the route's decode speed."""
    return time_to_last_token_ms(expected_completion_tokens(request), candidate)


def time_to_last_token_ms(completion_tokens: int, candidate: Candidate) -> float:
    """`predicted_total_ms` with the completion length worked out once for all candidates."""
    decode_ms = completion_tokens * 1000.0 / decode_tokens_per_s(candidate.stats)
    return predicted_ttft_ms(candidate) + decode_ms
