"""From a public model id to the routes to try, in the order the model's policy ranks them,
then OpenRouter's fallback `models` and `provider` preferences applied."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from policies import Candidate, Policy, RequestFeatures
from router.backends import Backend
from router.config import GatewayConfig, ModelConfig, RouteCost
from router.errors import ModelNotFound
from router.provider_preferences import apply_preferences
from router.schemas import ProviderPreferences
from router.table import BackendTable, BreakerConfig


@dataclass(frozen=True, slots=True)
class Route:
    candidate: Candidate
    backend: Backend
    price: RouteCost
    model_id: str
    """The public model this route serves (a fallback model's, after a `models` fallback)."""


class Dispatcher:
    def __init__(self, config: GatewayConfig, backends: dict[str, Backend], policy: Policy) -> None:
        self._policy = policy
        self.table = BackendTable()
        for backend in config.backends:
            breaker = backend.circuit_breaker
            self.table.add_backend(
                backend.name,
                locality=backend.locality,
                max_concurrency=backend.max_concurrency,
                breaker=BreakerConfig(
                    failure_threshold=breaker.failure_threshold,
                    error_rate_threshold=breaker.error_rate_threshold,
                    cooldown_s=breaker.cooldown_s,
                ),
                is_gated=breaker.enabled,
            )
        self._models = {m.id: m for m in config.models}
        self._routes: dict[str, list[Route]] = {}
        for model in config.models:
            routes = []
            for index, route in enumerate(model.routes):
                backend = config.backend(route.backend)
                candidate = Candidate(
                    route_index=index,
                    backend=route.backend,
                    upstream_model=route.model,
                    locality=backend.locality,
                    prompt_price_per_mtok=route.cost.prompt,
                    completion_price_per_mtok=route.cost.completion,
                    max_concurrency=backend.max_concurrency,
                    context_length=model.context_length,
                    request_price=route.cost.request,
                )
                routes.append(Route(candidate, backends[route.backend], route.cost, model.id))
            self._routes[model.id] = routes

    def model(self, model_id: str, param: str = "model") -> ModelConfig:
        try:
            return self._models[model_id]
        except KeyError:
            raise ModelNotFound(f"The model '{model_id}' does not exist", param=param) from None

    def plan(
        self,
        request: RequestFeatures,
        fallback_models: Sequence[str] = (),
        preferences: ProviderPreferences | None = None,
    ) -> list[Route]:
        """The routes to try for a request, best first: the model's own, then each fallback's."""
        plan = self._ranked(request, preferences)
        seen = {request.model}
        for index, model_id in enumerate(fallback_models):
            if model_id in seen:
                continue
            seen.add(model_id)
            self.model(model_id, param=f"models[{index}]")
            plan += self._ranked(replace(request, model=model_id), preferences)
        return plan

    def _ranked(
        self, request: RequestFeatures, preferences: ProviderPreferences | None
    ) -> list[Route]:
        routes = self._routes[request.model]
        if len(routes) == 1 and preferences is None:
            return routes  # nothing to rank; the breaker still gates the attempt
        now = time.monotonic()
        # The configured candidates with the backend table's figures of this moment.
        live = [
            replace(r.candidate, stats=self.table.route_stats(r.candidate.backend, now))
            for r in routes
        ]
        route_of = {id(candidate): route for candidate, route in zip(live, routes, strict=True)}
        ranking = self._policy.rank(request, live)
        ranked = [route_of[id(r.candidate)] for r in ranking]
        if preferences is None:
            return ranked
        live_of = {id(route_of[id(r.candidate)]): r.candidate for r in ranking}
        return apply_preferences(ranked, live_of, preferences)
