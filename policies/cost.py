"""`cost`: the cheapest route for this request, by its own token counts and each route's prices.

Prompt and completion tokens are priced separately, so the cheapest route depends on the request:
a long prompt favours cheap input, a long answer cheap output. Equal costs (free local routes,
say) keep the candidates' given order, which is the operator's configuration order.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, Ranked, RequestFeatures
from policies.cost_model import cost_usd, expected_completion_tokens
from policies.scoring import degraded_penalty, score, state_note


class CostPolicy:
    name = "cost"

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]:
        prompt_tokens = request.prompt_tokens_estimate
        completion_tokens = expected_completion_tokens(request)
        keys = [
            (degraded_penalty(c.stats), cost_usd(prompt_tokens, completion_tokens, c), position)
            for position, c in enumerate(candidates)
        ]
        keys.sort()
        ranking = []
        for tier, cost, position in keys:
            candidate = candidates[position]
            reason = f"${cost:.6f} expected{state_note(candidate.stats)}"
            ranking.append(Ranked(candidate, score(tier, cost), reason))
        return ranking
