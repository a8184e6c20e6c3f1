"""`weighted`: routes share traffic in proportion to their configured static weights.

A smooth weighted round-robin (nginx's): on every call each route's running credit grows by its
weight, the route with the most credit goes first and pays back the total weight. Over any run
of calls each route leads in proportion to its weight, interleaved rather than in bursts (3:1
gives A A B A, not A A A B), with no randomness: the ranking is a pure function of the inputs
and of the policy's own credits, which only `rank` changes. The rest follow by credit, so a
failover goes where the next request would.

Credits are kept per (model, backend, upstream model), so models sharing one policy rotate
independently. Healthy and degraded routes rotate separately, degraded ones after every healthy
one. A route with weight 0 (or less) ranks after every route of its tier with a positive weight.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, Ranked, RequestFeatures
from policies.scoring import degraded_penalty, score, state_note

RouteKey = tuple[str, str, str]


class WeightedPolicy:
    name = "weighted"

    def __init__(self) -> None:
        self._credits: dict[RouteKey, float] = {}

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]:
        credits = self._credits
        total_weight_by_tier: dict[int, float] = {}
        keys: list[tuple[int, bool, float, int, RouteKey]] = []
        for position, candidate in enumerate(candidates):
            weight = candidate.weight if candidate.weight > 0.0 else 0.0
            tier = degraded_penalty(candidate.stats)
            total_weight_by_tier[tier] = total_weight_by_tier.get(tier, 0.0) + weight
            route = (request.model, candidate.backend, candidate.upstream_model)
            credit = credits.get(route, 0.0) + weight
            credits[route] = credit
            # Credit negated so that the ascending sort puts the most credit first.
            keys.append((tier, weight == 0.0, -credit, position, route))
        keys.sort()

        ranking = []
        previous_tier = -1
        leading_credit = total_weight = lag = 0.0
        of_total = ""
        for tier, _, negative_credit, position, route in keys:
            candidate = candidates[position]
            if tier != previous_tier:
                # The first of each tier is that tier's pick: it pays back the tier's total.
                previous_tier = tier
                total_weight = total_weight_by_tier[tier]
                credits[route] -= total_weight
                leading_credit = -negative_credit
                lag = 0.0
                of_total = f" of {total_weight:g}{state_note(candidate.stats)}"
            elif total_weight > 0.0:
                # Rounds of credit behind the pick. A zero-weight route may hold more credit than
                # the routes ranked before it: keep the larger lag so scores never go down.
                lag_behind_pick = (leading_credit + negative_credit) / total_weight
                if lag_behind_pick > lag:
                    lag = lag_behind_pick
            reason = f"weight {candidate.weight:g}{of_total}"
            ranking.append(Ranked(candidate, score(tier, lag), reason))
        return ranking
