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


@dataclass(frozen=True, slots=True)
class Candidate:
    """One route a request could take: a backend serving the model under an upstream name."""

    route_index: int
    backend: str
    upstream_model: str
    locality: Literal["local", "cloud"]
    prompt_price_per_mtok: float
    completion_price_per_mtok: float
    max_concurrency: int
    in_flight: int


class Policy(Protocol):
    """Ranks candidate routes best-first; routes it leaves out are not tried."""

    name: str

    def rank(
        self, request: RequestFeatures, candidates: Sequence[Candidate]
    ) -> list[Candidate]: ...


PolicyFactory = Callable[[], Policy]


def _builtin_policies() -> dict[str, PolicyFactory]:
    from policies.first_route import FirstRoutePolicy

    return {FirstRoutePolicy.name: FirstRoutePolicy}


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
