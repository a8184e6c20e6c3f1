"""From a public model id to the routes to try: the routes that can serve the request, ranked by
the model's policy from the live backend table, then OpenRouter's fallback `models` and
`provider` preferences applied."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from policies import Candidate, Policy, RequestFeatures, load_policy
from policies.filters import Rejection, admissible
from router.backends import Backend
from router.config import GatewayConfig, ModelConfig, RouteCost
from router.errors import InvalidRequest, ModelNotFound, ServiceUnavailable
from router.provider_preferences import apply_preferences
from router.schemas import ProviderPreferences
from router.table import BackendTable, BreakerConfig

# OpenRouter's routing fields: the gateway acts on them, backends would not understand them.
GATEWAY_EXTENSIONS = ("models", "provider")


@dataclass(frozen=True, slots=True)
class Route:
    candidate: Candidate
    backend: Backend
    price: RouteCost
    model_id: str
    """The public model this route serves (a fallback model's, after a `models` fallback)."""

    def upstream_body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The client's request as this route's backend gets it: its model name, and without
        the routing fields only the gateway understands."""
        body = dict(payload)
        body["model"] = self.candidate.upstream_model
        for extension in GATEWAY_EXTENSIONS:
            body.pop(extension, None)
        return body


@dataclass(slots=True)
class Plan:
    routes: list[Route] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def no_route_error(self, model_id: str) -> InvalidRequest | ServiceUnavailable:
        """Why nothing can serve the request: the request's fault (400) or the fleet's (503)."""
        reasons = "; ".join(f"{r.candidate.backend}: {r.reason}" for r in self.rejections)
        detail = f": {reasons}" if reasons else ""
        if self.rejections and all(r.reason.startswith("context") for r in self.rejections):
            return InvalidRequest(
                f"The request is longer than '{model_id}' can take{detail}",
                code="context_length_exceeded",
                param="messages",
            )
        return ServiceUnavailable(f"No backend can serve '{model_id}' right now{detail}")


class Dispatcher:
    def __init__(self, config: GatewayConfig, backends: dict[str, Backend]) -> None:
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
        self._policies: dict[str, Policy] = {
            m.id: load_policy(m.policy or config.default_policy) for m in config.models
        }
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
                    supports_vision=route.supports_vision,
                    supports_tools=route.supports_tools,
                    supports_json=route.supports_json,
                    weight=route.weight,
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
    ) -> Plan:
        """The routes to try for a request, best first: the model's own, then each fallback's."""
        plan = Plan()
        self._add_ranked(plan, request, preferences)
        seen = {request.model}
        for index, model_id in enumerate(fallback_models):
            if model_id in seen:
                continue
            seen.add(model_id)
            self.model(model_id, param=f"models[{index}]")
            self._add_ranked(plan, replace(request, model=model_id), preferences)
        return plan

    def _add_ranked(
        self, plan: Plan, request: RequestFeatures, preferences: ProviderPreferences | None
    ) -> None:
        routes = self._routes[request.model]
        if len(routes) == 1 and preferences is None:
            # Nothing to rank: only what the request itself needs is checked (the breaker still
            # gates the attempt), and the configured candidate answers that as well.
            kept, rejected = admissible(request, [routes[0].candidate])
            plan.rejections += rejected
            if kept:
                plan.routes.append(routes[0])
            return
        now = time.monotonic()
        # The configured candidates with the backend table's figures of this moment.
        stats_of = self.table.route_stats
        live = [replace(r.candidate, stats=stats_of(r.candidate.backend, now)) for r in routes]
        route_of = {id(candidate): route for candidate, route in zip(live, routes, strict=True)}
        kept, rejected = admissible(request, live)
        plan.rejections += rejected
        ranking = self._policies[request.model].rank(request, kept)
        ranked = [route_of[id(r.candidate)] for r in ranking]
        if preferences is not None:
            live_of = {id(route_of[id(r.candidate)]): r.candidate for r in ranking}
            ranked = apply_preferences(ranked, live_of, preferences)
        plan.routes += ranked
