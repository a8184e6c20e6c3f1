"""Cost arithmetic: USD per 1M tokens plus per request; OpenRouter's per-token price strings."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.config import RouteCost
from router.pricing import TOKENS_PER_PRICE_UNIT, estimate_cost, per_token_price

tokens = st.integers(min_value=0, max_value=10_000_000)
prices = st.floats(min_value=0, max_value=1_000, allow_nan=False, allow_infinity=False)
route_costs = st.builds(RouteCost, prompt=prices, completion=prices, request=prices)


def test_cost_is_prompt_and_completion_per_million_plus_per_request() -> None:
    price = RouteCost(prompt=0.8, completion=4.0, request=0.01)
    assert estimate_cost(1_000_000, 500_000, price) == pytest.approx(0.8 + 2.0 + 0.01)


def test_free_route_costs_nothing() -> None:
    assert estimate_cost(123_456, 7_890, RouteCost()) == 0.0


def test_zero_tokens_cost_only_the_request_price() -> None:
    assert estimate_cost(0, 0, RouteCost(prompt=3, completion=15, request=0.002)) == 0.002


def test_prompt_and_completion_tokens_use_their_own_prices() -> None:
    price = RouteCost(prompt=1.0, completion=100.0)
    assert estimate_cost(1_000, 0, price) == pytest.approx(0.001)
    assert estimate_cost(0, 1_000, price) == pytest.approx(0.1)


@given(prompt=tokens, completion=tokens, price=route_costs)
def test_cost_is_never_negative(prompt: int, completion: int, price: RouteCost) -> None:
    assert estimate_cost(prompt, completion, price) >= 0


@given(prompt=tokens, completion=tokens, factor=st.integers(0, 50), price=route_costs)
def test_token_cost_is_linear_in_tokens(
    prompt: int, completion: int, factor: int, price: RouteCost
) -> None:
    once = estimate_cost(prompt, completion, price) - price.request
    scaled = estimate_cost(prompt * factor, completion * factor, price) - price.request
    assert math.isclose(scaled, once * factor, rel_tol=1e-9, abs_tol=1e-9)


@given(a=tokens, b=tokens, c=tokens, d=tokens, price=route_costs)
def test_token_cost_is_additive_across_requests(
    a: int, b: int, c: int, d: int, price: RouteCost
) -> None:
    separate = estimate_cost(a, b, price) + estimate_cost(c, d, price) - 2 * price.request
    together = estimate_cost(a + c, b + d, price) - price.request
    assert math.isclose(separate, together, rel_tol=1e-9, abs_tol=1e-9)


@given(prompt=tokens, completion=tokens, more=st.integers(1, 1000), price=route_costs)
def test_more_tokens_never_cost_less(
    prompt: int, completion: int, more: int, price: RouteCost
) -> None:
    base = estimate_cost(prompt, completion, price)
    assert estimate_cost(prompt + more, completion, price) >= base
    assert estimate_cost(prompt, completion + more, price) >= base


@pytest.mark.parametrize(
    ("price_per_mtok", "expected"),
    [
        (0.8, "0.0000008"),
        (4.0, "0.000004"),
        (0.15, "0.00000015"),
        (0.075, "0.000000075"),
        (0.0375, "0.0000000375"),
        (3, "0.000003"),
        (15, "0.000015"),
        (150, "0.00015"),
        (1_000_000, "1"),
        (2_500_000, "2.5"),
        (0.1 + 0.2, "0.0000003"),  # 0.30000000000000004: the noise must not show
        (1.1 * 3, "0.0000033"),
    ],
)
def test_per_token_price_is_a_plain_decimal_without_float_noise(
    price_per_mtok: float, expected: str
) -> None:
    assert per_token_price(price_per_mtok) == expected


@pytest.mark.parametrize("zero", [0, 0.0, -0.0])
def test_zero_price_is_the_string_zero(zero: float) -> None:
    assert per_token_price(zero) == "0"


@given(micro_dollars=st.integers(min_value=1, max_value=10**10))
def test_prices_with_up_to_six_decimals_are_exact(micro_dollars: int) -> None:
    exact = Decimal(micro_dollars) / 10**6  # the per-1M price, e.g. 0.800000
    expected = format((exact / TOKENS_PER_PRICE_UNIT).normalize(), "f")
    assert per_token_price(float(exact)) == expected


@given(price=st.floats(min_value=0, max_value=100_000, allow_nan=False))
def test_per_token_price_is_within_rounding_of_the_per_token_value(price: float) -> None:
    text = per_token_price(price)
    assert re.fullmatch(r"0|[1-9][0-9]*(\.[0-9]*[1-9])?|0\.[0-9]*[1-9]", text), text
    # Twelve decimals per token: exact to half a millionth of a dollar per 1M tokens.
    assert abs(Decimal(text) * TOKENS_PER_PRICE_UNIT - Decimal(price)) <= Decimal("0.000000500001")
