"""Policies by name, and `first-route`: the configured order, whatever the request."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import Candidate, RouteStats, load_policy, registered_policies
from policies.first_route import FirstRoutePolicy
from tests.unit.routes import a_request, a_route

REQUEST = a_request(prompt_tokens_estimate=10, max_tokens=None)


def candidate(route_index: int, backend: str = "b", **fields: object) -> Candidate:
    free = {"prompt_price_per_mtok": 0.0, "completion_price_per_mtok": 0.0}
    return a_route(route_index=route_index, backend=backend, **{**free, **fields})


def test_first_route_is_registered() -> None:
    assert "first-route" in registered_policies()


def test_load_policy_builds_the_named_policy() -> None:
    policy = load_policy("first-route")
    assert isinstance(policy, FirstRoutePolicy)
    assert policy.name == "first-route"


def test_each_load_builds_a_new_policy() -> None:
    assert load_policy("first-route") is not load_policy("first-route")


@pytest.mark.parametrize("name", ["no-such-policy", "", "First-Route"])
def test_unknown_policy_name_raises_key_error_naming_it(name: str) -> None:
    with pytest.raises(KeyError, match=f"unknown policy {name!r}"):
        load_policy(name)


def test_built_in_policy_is_not_shadowed_by_an_entry_point() -> None:
    assert registered_policies()["first-route"] is FirstRoutePolicy


def test_first_route_ranks_by_route_index() -> None:
    candidates = [candidate(2, "c"), candidate(0, "a"), candidate(1, "b")]
    ranking = load_policy("first-route").rank(REQUEST, candidates)
    assert [r.candidate.backend for r in ranking] == ["a", "b", "c"]
    assert [r.score for r in ranking] == [0.0, 1.0, 2.0]
    assert {r.reason for r in ranking} == {"configuration order"}


def test_first_route_keeps_every_candidate() -> None:
    candidates = [candidate(1), candidate(0)]
    ranked = [r.candidate for r in load_policy("first-route").rank(REQUEST, candidates)]
    assert sorted(ranked, key=id) == sorted(candidates, key=id)


def test_first_route_ignores_price_load_and_locality() -> None:
    expensive_busy_cloud = candidate(
        0,
        "cloud",
        locality="cloud",
        prompt_price_per_mtok=100.0,
        stats=RouteStats(in_flight=8),
    )
    cheap_idle_local = candidate(1, "local")
    ranking = load_policy("first-route").rank(REQUEST, [cheap_idle_local, expensive_busy_cloud])
    assert [r.candidate.backend for r in ranking] == ["cloud", "local"]


def test_first_route_ranks_nothing_as_nothing() -> None:
    assert load_policy("first-route").rank(REQUEST, []) == []


def test_first_route_does_not_reorder_the_callers_list() -> None:
    candidates = [candidate(1, "b"), candidate(0, "a")]
    load_policy("first-route").rank(REQUEST, candidates)
    assert [c.backend for c in candidates] == ["b", "a"]


@given(indexes=st.permutations(range(6)), needs_tools=st.booleans(), is_stream=st.booleans())
def test_first_route_order_is_the_same_for_any_request(
    indexes: list[int], needs_tools: bool, is_stream: bool
) -> None:
    request = dataclasses.replace(REQUEST, needs_tools=needs_tools, is_stream=is_stream)
    ranking = FirstRoutePolicy().rank(request, [candidate(i, f"b{i}") for i in indexes])
    assert [r.candidate.route_index for r in ranking] == list(range(6))
