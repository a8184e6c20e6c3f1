"""`first-route`: the routes in configuration order, as written by the operator."""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, Ranked, RequestFeatures


class FirstRoutePolicy:
    name = "first-route"

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]:
        return [
            Ranked(c, float(c.route_index), "configuration order")
            for c in sorted(candidates, key=lambda c: c.route_index)
        ]
