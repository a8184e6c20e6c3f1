"""`latency`: the route expected to answer soonest, from the live table, queueing included.

A streamed response is judged by its time to first token, which is what its reader waits for;
any other by the time to its last token, since the client sees nothing before then. Both come
from `cost_model`, which adds the wait for a free slot on a busy route.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, Ranked, RequestFeatures
from policies.cost_model import (
    expected_completion_tokens,
    predicted_ttft_ms,
    time_to_last_token_ms,
)
from policies.scoring import degraded_penalty, score, state_note


class LatencyPolicy:
    name = "latency"

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]:
        if request.is_stream:
            keys = [
                (degraded_penalty(c.stats), predicted_ttft_ms(c), position)
                for position, c in enumerate(candidates)
            ]
            measure = "TTFT"
        else:
            completion_tokens = expected_completion_tokens(request)
            keys = [
                (degraded_penalty(c.stats), time_to_last_token_ms(completion_tokens, c), position)
                for position, c in enumerate(candidates)
            ]
            measure = "total"
        keys.sort()
        ranking = []
        for tier, predicted_ms, position in keys:
            candidate = candidates[position]
            reason = f"{measure} {predicted_ms:.0f} ms predicted{state_note(candidate.stats)}"
            ranking.append(Ranked(candidate, score(tier, predicted_ms), reason))
        return ranking
