"""Which candidate routes can serve a request at all, and why the others cannot.

The dispatcher runs `admissible` before any policy, so every policy only ranks routes that could
answer. Each rejected route carries one short reason (the first rule it breaks, in the order
below) for the decision log. An empty result means the request has no route (the caller's 503).

Rules, in order:
- pin: an operator's pin keeps only that backend. It overrides no other rule: a pinned backend
  that is down leaves no route, which is what an operator debugging that backend wants to see.
- state: down, disabled and draining routes take no new requests; degraded ones do (policies
  rank them last).
- context: prompt estimate + `max_tokens` must fit the route's context length.
- capabilities: vision, tools and JSON mode each need a route that supports them.
- budget: a client's price ceiling (per 1M prompt / completion tokens) excludes dearer routes.
- capacity: routes at `max_concurrency` are dropped, unless every remaining route is at capacity;
  then all are kept, since queueing behind a busy route beats failing the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policies.base import Candidate, RequestFeatures

_CLOSED_STATES = frozenset({"down", "disabled", "draining"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """A route the request cannot take, and why."""

    candidate: Candidate
    reason: str


def admissible(
    request: RequestFeatures, candidates: Sequence[Candidate]
) -> tuple[list[Candidate], list[Rejection]]:
    """The candidates that can serve `request` (in their given order), and the rejected ones."""
    kept: list[Candidate] = []
    rejected: list[Rejection] = []
    has_free_slot = False
    for candidate in candidates:
        reason = rejection_reason(request, candidate)
        if reason is None:
            kept.append(candidate)
            has_free_slot = has_free_slot or candidate.stats.in_flight < candidate.max_concurrency
        else:
            rejected.append(Rejection(candidate, reason))
    if not has_free_slot:
        return kept, rejected
    with_room: list[Candidate] = []
    for candidate in kept:
        in_flight = candidate.stats.in_flight
        if in_flight < candidate.max_concurrency:
            with_room.append(candidate)
        else:
            reason = f"at capacity, {in_flight}/{candidate.max_concurrency} in flight"
            rejected.append(Rejection(candidate, reason))
    return with_room, rejected


def rejection_reason(request: RequestFeatures, candidate: Candidate) -> str | None:
    """Why `candidate` cannot serve `request` whatever the other routes' load, or None if it can."""
    pinned = request.pinned_backend
    if pinned is not None and candidate.backend != pinned:
        return f"pinned to {pinned}"
    state = candidate.stats.state
    if state in _CLOSED_STATES:
        return state
    tokens_needed = request.prompt_tokens_estimate + (request.max_tokens or 0)
    if tokens_needed > candidate.context_length:
        return f"context {candidate.context_length} < {tokens_needed} tokens needed"
    if request.needs_vision and not candidate.supports_vision:
        return "no image input"
    if request.needs_tools and not candidate.supports_tools:
        return "no tool calls"
    if request.needs_json and not candidate.supports_json:
        return "no JSON mode"
    max_prompt_price = request.max_prompt_price_per_mtok
    if max_prompt_price is not None and candidate.prompt_price_per_mtok > max_prompt_price:
        price = candidate.prompt_price_per_mtok
        return f"prompt price {price:g} > {max_prompt_price:g} USD per 1M tokens"
    max_completion_price = request.max_completion_price_per_mtok
    if (
        max_completion_price is not None
        and candidate.completion_price_per_mtok > max_completion_price
    ):
        price = candidate.completion_price_per_mtok
        return f"completion price {price:g} > {max_completion_price:g} USD per 1M tokens"
    return None
