"""Scores: the tier is the integer part; the value orders routes within a tier, never past it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from policies import RouteStats
from policies.scoring import DEGRADED_PENALTY, degraded_penalty, score, state_note

values = st.floats(allow_nan=False, min_value=-1e300)


@given(tier=st.integers(0, 300), value=values, other=values)
def test_scores_keep_the_order_of_values(tier: int, value: float, other: float) -> None:
    low, high = sorted((value, other))
    assert score(tier, low) <= score(tier, high)


@given(tier=st.integers(0, 300), value=values, other=values)
def test_no_value_lifts_a_score_past_the_next_tier(tier: int, value: float, other: float) -> None:
    assert tier <= score(tier, value) <= tier + 1 <= score(tier + 1, other)


def test_a_value_of_zero_or_less_scores_the_bare_tier() -> None:
    assert score(2, 0.0) == score(2, -5.0) == 2.0


def test_unbounded_values_score_at_the_top_of_their_tier() -> None:
    assert score(1, math.inf) == score(1, math.nan) == 2.0


def test_only_degraded_routes_carry_the_penalty_and_the_note() -> None:
    assert (degraded_penalty(RouteStats()), state_note(RouteStats())) == (0, "")
    degraded = RouteStats(state="degraded")
    assert (degraded_penalty(degraded), state_note(degraded)) == (DEGRADED_PENALTY, ", degraded")
