"""`local-first`, the default: keep local GPU workers busy, overflow to the cheapest cloud route.

Local workers are already paid for, so a request goes local whenever one has room: a free slot,
a short queue and an acceptable time to first token. Only when none has room does it spill to
the cloud, cheapest expected cost first; local workers without room stay last, as a place to
queue rather than fail. Nothing is remembered between requests, so traffic comes back to local
the moment a worker drains.

Tiers: 0 local with room (least loaded first), 1 cloud (cheapest first), 2 local without room
(least loaded first); degraded routes rank after all of these.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, Ranked, RequestFeatures
from policies.cost_model import cost_usd, expected_completion_tokens
from policies.scoring import degraded_penalty, score, state_note

LOCAL_MAX_QUEUE_DEPTH = 2
"""Requests waiting inside a local engine beyond which it counts as full: a short queue is the
normal churn of continuous batching, a longer one means it admits work slower than it arrives."""

LOCAL_MAX_TTFT_MS = 2000.0
"""Recent time to first token beyond which a local worker counts as full even with free slots:
it is prefilling more than it keeps up with, and a cloud route is likely to answer sooner."""

_LOCAL_WITH_ROOM = 0
_CLOUD = 1
_LOCAL_FULL = 2


class LocalFirstPolicy:
    name = "local-first"

    def __init__(
        self,
        max_queue_depth: int = LOCAL_MAX_QUEUE_DEPTH,
        max_ttft_ms: float = LOCAL_MAX_TTFT_MS,
    ) -> None:
        self.max_queue_depth = max_queue_depth
        self.max_ttft_ms = max_ttft_ms

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]:
        prompt_tokens = request.prompt_tokens_estimate
        completion_tokens = expected_completion_tokens(request)
        keys: list[tuple[int, float, int, str]] = []
        for position, candidate in enumerate(candidates):
            stats = candidate.stats
            if candidate.locality == "cloud":
                tier = _CLOUD
                value = cost_usd(prompt_tokens, completion_tokens, candidate)
                reason = f"cloud overflow, ${value:.6f} expected"
            else:
                value = stats.in_flight / max(1, candidate.max_concurrency)
                reason = self._why_local_is_full(candidate)
                if reason:
                    tier = _LOCAL_FULL
                    value += stats.queue_depth / max(1, candidate.max_concurrency)
                else:
                    tier = _LOCAL_WITH_ROOM
                    reason = f"local, {stats.in_flight}/{candidate.max_concurrency} in flight"
            keys.append(
                (tier + degraded_penalty(stats), value, position, reason + state_note(stats))
            )
        keys.sort()
        return [
            Ranked(candidates[position], score(tier, value), reason)
            for tier, value, position, reason in keys
        ]

    def _why_local_is_full(self, candidate: Candidate) -> str:
        """Why a local worker has no room for one more request, or "" when it has."""
        stats = candidate.stats
        if stats.in_flight >= candidate.max_concurrency:
            return f"local but full, {stats.in_flight}/{candidate.max_concurrency} in flight"
        if stats.queue_depth > self.max_queue_depth:
            return f"local but full, {stats.queue_depth} queued"
        if stats.ttft_ms is not None and stats.ttft_ms > self.max_ttft_ms:
            return f"local but full, TTFT {stats.ttft_ms:.0f} ms"
        return ""
