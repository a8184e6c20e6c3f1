"""How the built-in policies turn a tier and a value into one comparable score.

Every built-in ranks by (tier, value): the tier is a coarse class (local with room, cloud,
degraded, ...) and the value orders routes within it, in its own unit (USD, ms, load). The score
is `tier + value / (1 + value)`: the value, squeezed into [0, 1] with its order kept, cannot
reach past the next tier, so scores stay finite and ascending in (tier, value) order whatever the
unit. The value in its own unit goes in the reason, where a reader looks for it.
"""

from __future__ import annotations

import math

from policies.base import RouteStats

DEGRADED_PENALTY = 100
"""Tiers added for a degraded route: more than any policy uses, so it ranks after every healthy
route, yet it stays in the ranking because a degraded backend is better than none."""


def degraded_penalty(stats: RouteStats) -> int:
    return DEGRADED_PENALTY if stats.state == "degraded" else 0


def score(tier: int, value: float) -> float:
    """`tier` plus `value` mapped monotonically into [0, 1]; non-positive values count as 0."""
    if value <= 0.0:
        return float(tier)
    if value < math.inf:
        return tier + value / (1.0 + value)
    return tier + 1.0  # infinite (a route measured at ~0 tokens/s), or NaN: last in its tier


def state_note(stats: RouteStats) -> str:
    """A suffix for a reason that names a state other than healthy."""
    return ", degraded" if stats.state == "degraded" else ""
