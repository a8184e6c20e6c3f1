"""The policy interface and the registry of policies by name.

A policy sees plain objects only (no sockets, no clock, no event loop), so it is tested with
constructed inputs. Built-ins are registered here; third-party policies through the entry-point
group `hybridinference.policies`, whose objects are classes (or factories) taking no arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal, Protocol

ENTRY_POINT_GROUP = "hybridinference.policies"


Locality = Literal["local", "cloud"]
RouteState = Literal["healthy", "degraded", "down", "draining", "disabled"]


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    """What a policy may know about a request."""

    model: str
    prompt_tokens_estimate: int
    max_tokens: int | None
    needs_tools: bool
    needs_vision: bool
    needs_json: bool
    is_stream: bool
    key_id: int | None
    max_prompt_price_per_mtok: float | None = None
    """The client's price ceiling (OpenRouter's `provider.max_price`), USD per 1M tokens."""
    max_completion_price_per_mtok: float | None = None
    pinned_backend: str | None = None
    """An operator's pin: only this backend may serve the request."""


@dataclass(frozen=True, slots=True)
class RouteStats:
    """Live figures of a route's backend, as the backend table last saw them."""

    state: RouteState = "healthy"
    in_flight: int = 0
    queue_depth: int = 0
    """Requests waiting inside the backend (vLLM/SGLang metrics); 0 when unknown."""
    ttft_ms: float | None = None
    """Recent time to first token (EWMA); None before any measurement."""
    decode_tokens_per_s: float | None = None
    latency_ms: float | None = None
    """Recent total latency (EWMA)."""
    error_rate: float = 0.0
    """Recent share of failed requests, 0 to 1."""
    kv_cache_usage: float | None = None
    """0 to 1, from the backend's metrics when it exposes them."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One route a request could take: a backend serving the model under an upstream name."""

    route_index: int
    backend: str
    upstream_model: str
    locality: Locality
    prompt_price_per_mtok: float
    completion_price_per_mtok: float
    max_concurrency: int
    context_length: int
    request_price: float = 0.0
    supports_vision: bool = True
    supports_tools: bool = True
    supports_json: bool = True
    weight: float = 1.0
    stats: RouteStats = RouteStats()


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which doubled the
# cost of ranking 20 routes (bench/policy_ranking.py).
@dataclass(slots=True)
class Ranked:
    """A candidate in a policy's ranking: lower scores first; `reason` explains the score."""

    candidate: Candidate
    score: float
    reason: str


class Policy(Protocol):
    """Ranks candidate routes best-first; routes it leaves out are not tried."""

    name: str

    def rank(self, request: RequestFeatures, candidates: Sequence[Candidate]) -> list[Ranked]: ...


PolicyFactory = Callable[[], Policy]


def _builtin_policies() -> dict[str, PolicyFactory]:
    from policies.cost import CostPolicy
    from policies.first_route import FirstRoutePolicy
    from policies.latency import LatencyPolicy
    from policies.least_busy import LeastBusyPolicy
    from policies.local_first import LocalFirstPolicy
    from policies.weighted import WeightedPolicy

    return {
        FirstRoutePolicy.name: FirstRoutePolicy,
        LocalFirstPolicy.name: LocalFirstPolicy,
        CostPolicy.name: CostPolicy,
        LatencyPolicy.name: LatencyPolicy,
        LeastBusyPolicy.name: LeastBusyPolicy,
        WeightedPolicy.name: WeightedPolicy,
    }


def registered_policies() -> dict[str, PolicyFactory]:
    """Every policy by name: built-ins, then entry points (which may not shadow a built-in)."""
    policies = _builtin_policies()
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        policies.setdefault(entry.name, entry.load())
    return policies


def load_policy(name: str) -> Policy:
    try:
        factory = registered_policies()[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}") from None
    return factory()
