"""Routing policies: pure functions from a request's features and candidate routes to a ranking."""

from policies.base import (
    Candidate,
    Policy,
    Ranked,
    RequestFeatures,
    RouteStats,
    load_policy,
    registered_policies,
)

__all__ = [
    "Candidate",
    "Policy",
    "Ranked",
    "RequestFeatures",
    "RouteStats",
    "load_policy",
    "registered_policies",
]
