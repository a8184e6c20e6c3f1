"""Requests and candidate routes for the policy tests, built from defaults a test overrides."""

from __future__ import annotations

from typing import Any

from policies import Candidate, RequestFeatures


def a_request(**fields: Any) -> RequestFeatures:
    values: dict[str, Any] = {
        "model": "llama",
        "prompt_tokens_estimate": 1000,
        "max_tokens": 500,
        "needs_tools": False,
        "needs_vision": False,
        "needs_json": False,
        "is_stream": False,
        "key_id": 1,
    }
    return RequestFeatures(**{**values, **fields})


def a_route(**fields: Any) -> Candidate:
    values: dict[str, Any] = {
        "route_index": 0,
        "backend": "b",
        "upstream_model": "m",
        "locality": "local",
        "prompt_price_per_mtok": 1.0,
        "completion_price_per_mtok": 2.0,
        "max_concurrency": 8,
        "context_length": 8192,
    }
    return Candidate(**{**values, **fields})
