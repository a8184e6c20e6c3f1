"""From a public model id to the routes to try, in the order the model's policy ranks them."""

from __future__ import annotations

from dataclasses import dataclass

from policies import Candidate, Policy, RequestFeatures
from router.backends import Backend
from router.config import GatewayConfig, ModelConfig, RouteCost
from router.errors import ModelNotFound


@dataclass(frozen=True, slots=True)
class Route:
    candidate: Candidate
    backend: Backend
    price: RouteCost


class Dispatcher:
    def __init__(self, config: GatewayConfig, backends: dict[str, Backend], policy: Policy) -> None:
        self._policy = policy
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
                routes.append(Route(candidate, backends[route.backend], route.cost))
            self._routes[model.id] = routes

    def model(self, model_id: str) -> ModelConfig:
        try:
            return self._models[model_id]
        except KeyError:
            raise ModelNotFound(f"The model '{model_id}' does not exist", param="model") from None

    def plan(self, request: RequestFeatures) -> list[Route]:
        """The routes to try for a request, best first."""
        routes = self._routes[request.model]
        by_candidate = {id(r.candidate): r for r in routes}
        ranked = self._policy.rank(request, [r.candidate for r in routes])
        return [by_candidate[id(r.candidate)] for r in ranked]
