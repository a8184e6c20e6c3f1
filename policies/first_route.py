"""`first-route`: the routes in configuration order, as written by the operator."""

from __future__ import annotations

from collections.abc import Sequence

from policies.base import Candidate, RequestFeatures


class FirstRoutePolicy:
    name = "first-route"

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Candidate]:
        return sorted(candidates, key=lambda c: c.route_index)
