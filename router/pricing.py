"""Cost arithmetic: route prices are USD per 1M tokens; OpenRouter quotes USD per token."""

from __future__ import annotations

from router.config import RouteCost

TOKENS_PER_PRICE_UNIT = 1_000_000


def estimate_cost(prompt_tokens: int, completion_tokens: int, price: RouteCost) -> float:
    """USD for one request on a route."""
    return (
        prompt_tokens * price.prompt + completion_tokens * price.completion
    ) / TOKENS_PER_PRICE_UNIT + price.request


def per_token_price(price_per_mtok: float) -> str:
    """A per-1M-token price as OpenRouter's per-token decimal string, without float noise."""
    if price_per_mtok == 0:
        return "0"
    text = f"{price_per_mtok / TOKENS_PER_PRICE_UNIT:.12f}".rstrip("0").rstrip(".")
    return text or "0"
