"""Admissible routes: which candidates can serve a request at all, with one reason per rejection."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import Candidate, RequestFeatures, RouteStats
from policies.base import RouteState
from policies.filters import Rejection, admissible, rejection_reason
from tests.unit.routes import a_request, a_route

REQUEST = a_request()


def route(backend: str = "b", **fields: object) -> Candidate:
    return a_route(backend=backend, **fields)


def busy(in_flight: int, backend: str = "b", **fields: object) -> Candidate:
    return route(backend, stats=RouteStats(in_flight=in_flight), **fields)


def request(**fields: object) -> RequestFeatures:
    return dataclasses.replace(REQUEST, **fields)  # type: ignore[arg-type]


def reasons(request: RequestFeatures, *candidates: Candidate) -> list[str]:
    return [rejection.reason for rejection in admissible(request, candidates)[1]]


def test_a_route_that_meets_every_rule_is_kept() -> None:
    candidate = route()
    assert admissible(REQUEST, [candidate]) == ([candidate], [])


@pytest.mark.parametrize("state", ["down", "disabled", "draining"])
def test_closed_routes_are_rejected_naming_their_state(state: RouteState) -> None:
    candidate = route(stats=RouteStats(state=state))
    assert admissible(REQUEST, [candidate]) == ([], [Rejection(candidate, state)])


def test_a_degraded_route_is_still_admissible() -> None:
    candidate = route(stats=RouteStats(state="degraded"))
    assert admissible(REQUEST, [candidate]) == ([candidate], [])


def test_prompt_and_max_tokens_must_fit_the_context() -> None:
    assert reasons(REQUEST, route(context_length=1500)) == []
    assert reasons(REQUEST, route(context_length=1499)) == ["context 1499 < 1500 tokens needed"]


def test_without_max_tokens_only_the_prompt_must_fit() -> None:
    assert reasons(request(max_tokens=None), route(context_length=1000)) == []
    assert reasons(request(max_tokens=None), route(context_length=999)) == [
        "context 999 < 1000 tokens needed"
    ]


@pytest.mark.parametrize(
    ("need", "lacking", "reason"),
    [
        ("needs_vision", route(supports_vision=False), "no image input"),
        ("needs_tools", route(supports_tools=False), "no tool calls"),
        ("needs_json", route(supports_json=False), "no JSON mode"),
    ],
)
def test_a_needed_capability_rejects_routes_without_it(
    need: str, lacking: Candidate, reason: str
) -> None:
    assert reasons(request(**{need: True}), lacking) == [reason]
    assert reasons(request(**{need: True}), route()) == []
    assert reasons(request(**{need: False}), lacking) == []


def test_a_prompt_price_ceiling_rejects_dearer_routes_only() -> None:
    ceiling = request(max_prompt_price_per_mtok=1.0)
    assert reasons(ceiling, route(prompt_price_per_mtok=1.0)) == []
    assert reasons(ceiling, route(prompt_price_per_mtok=1.5)) == [
        "prompt price 1.5 > 1 USD per 1M tokens"
    ]


def test_a_completion_price_ceiling_rejects_dearer_routes_only() -> None:
    ceiling = request(max_completion_price_per_mtok=2.0)
    assert reasons(ceiling, route(completion_price_per_mtok=2.0)) == []
    assert reasons(ceiling, route(completion_price_per_mtok=3.0)) == [
        "completion price 3 > 2 USD per 1M tokens"
    ]


def test_a_pin_keeps_only_the_pinned_backend() -> None:
    pinned, other = route("gpu-1"), route("gpu-2")
    kept, rejected = admissible(request(pinned_backend="gpu-1"), [other, pinned])
    assert kept == [pinned]
    assert rejected == [Rejection(other, "pinned to gpu-1")]


def test_a_pinned_backend_that_is_down_leaves_no_route() -> None:
    pinned = route("gpu-1", stats=RouteStats(state="down"))
    kept, rejected = admissible(request(pinned_backend="gpu-1"), [pinned, route("gpu-2")])
    assert kept == []
    assert [r.reason for r in rejected] == ["down", "pinned to gpu-1"]


def test_a_pin_does_not_lift_the_other_rules() -> None:
    pinned = route("gpu-1", context_length=100)
    assert reasons(request(pinned_backend="gpu-1"), pinned) == ["context 100 < 1500 tokens needed"]


def test_a_pinned_backend_at_capacity_is_kept_to_queue_on() -> None:
    pinned = busy(8, "gpu-1")
    assert admissible(request(pinned_backend="gpu-1"), [pinned, route("gpu-2")])[0] == [pinned]


def test_each_rejection_names_the_first_rule_broken() -> None:
    broken_everywhere = route(
        "gpu-2",
        stats=RouteStats(state="down"),
        context_length=10,
        supports_tools=False,
    )
    assert rejection_reason(request(needs_tools=True), broken_everywhere) == "down"
    assert rejection_reason(request(pinned_backend="gpu-1"), broken_everywhere) == "pinned to gpu-1"


def test_routes_at_capacity_are_dropped_while_another_has_room() -> None:
    full, free = busy(8, "full"), busy(7, "free")
    kept, rejected = admissible(REQUEST, [full, free])
    assert kept == [free]
    assert rejected == [Rejection(full, "at capacity, 8/8 in flight")]


def test_when_every_route_is_at_capacity_all_are_kept_to_queue_on() -> None:
    candidates = [busy(8, "a"), busy(9, "b"), busy(8, "c", max_concurrency=4)]
    assert admissible(REQUEST, candidates) == (candidates, [])


def test_capacity_is_judged_among_routes_that_pass_the_other_rules() -> None:
    full = busy(8, "full")
    down_with_room = route("idle", stats=RouteStats(state="down"))
    kept, rejected = admissible(REQUEST, [full, down_with_room])
    assert kept == [full]
    assert rejected == [Rejection(down_with_room, "down")]


def test_no_candidates_means_no_route() -> None:
    assert admissible(REQUEST, []) == ([], [])


candidates_strategy = st.lists(
    st.builds(
        route,
        backend=st.sampled_from(["a", "b", "c"]),
        context_length=st.integers(1, 4000),
        supports_tools=st.booleans(),
        supports_vision=st.booleans(),
        prompt_price_per_mtok=st.floats(0, 10),
        max_concurrency=st.integers(1, 4),
        stats=st.builds(
            RouteStats,
            state=st.sampled_from(["healthy", "degraded", "down", "draining", "disabled"]),
            in_flight=st.integers(0, 6),
        ),
    ),
    max_size=12,
)


@given(
    candidates=candidates_strategy,
    needs_tools=st.booleans(),
    needs_vision=st.booleans(),
    ceiling=st.none() | st.floats(0, 10),
    pinned=st.none() | st.sampled_from(["a", "b"]),
)
def test_kept_and_rejected_split_the_candidates_in_their_order(
    candidates: list[Candidate],
    needs_tools: bool,
    needs_vision: bool,
    ceiling: float | None,
    pinned: str | None,
) -> None:
    features = request(
        needs_tools=needs_tools,
        needs_vision=needs_vision,
        max_prompt_price_per_mtok=ceiling,
        pinned_backend=pinned,
    )
    kept, rejected = admissible(features, candidates)
    rejected_ids = {id(r.candidate) for r in rejected}
    assert [c for c in candidates if id(c) not in rejected_ids] == kept
    assert len(kept) + len(rejected) == len(candidates)
    assert all(rejection_reason(features, c) is None for c in kept)
    has_room = [c for c in kept if c.stats.in_flight < c.max_concurrency]
    assert has_room == kept or not has_room
