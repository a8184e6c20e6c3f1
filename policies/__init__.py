"""Routing policies: pure functions from a request's features and candidate routes to a ranking."""

from policies.base import Candidate, Policy, RequestFeatures, load_policy, registered_policies

__all__ = ["Candidate", "Policy", "RequestFeatures", "load_policy", "registered_policies"]
