"""`least-busy`: the route with the smallest share of its slots in use, then the shortest queue.

Load is relative (in flight / `max_concurrency`), so a large cloud quota and a small local worker
compare fairly; the backend's own queue breaks ties between equally loaded routes.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, Ranked, RequestFeatures
from policies.scoring import degraded_penalty, score, state_note


class LeastBusyPolicy:
    name = "least-busy"

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]:
        keys = [
            (
                degraded_penalty(c.stats),
                c.stats.in_flight / max(1, c.max_concurrency),
                c.stats.queue_depth,
                position,
            )
            for position, c in enumerate(candidates)
        ]
        keys.sort()
        ranking = []
        for tier, load, queue_depth, position in keys:
            candidate = candidates[position]
            stats = candidate.stats
            reason = (
                f"{stats.in_flight}/{candidate.max_concurrency} in flight, "
                f"{queue_depth} queued{state_note(stats)}"
            )
            ranking.append(Ranked(candidate, score(tier, load), reason))
        return ranking
