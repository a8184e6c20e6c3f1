"""`GET /v1/models`: the public catalogue, in OpenRouter's fields."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from router.config import GatewayConfig
from router.pricing import per_token_price
from router.state import KEYRING

CATALOGUE = web.AppKey("catalogue", bytes)


def catalogue_of(config: GatewayConfig, created: int | None = None) -> dict[str, Any]:
    created = int(time.time()) if created is None else created
    data = []
    for model in config.models:
        price = model.public_pricing
        data.append(
            {
                "id": model.id,
                "object": "model",
                "created": created,
                "owned_by": model.owned_by,
                "context_length": model.context_length,
                "architecture": {
                    "modality": model.architecture.modality,
                    "tokenizer": model.architecture.tokenizer,
                    "instruct_type": model.architecture.instruct_type,
                },
                "pricing": {
                    "prompt": per_token_price(price.prompt),
                    "completion": per_token_price(price.completion),
                    "request": per_token_price(price.request * 1_000_000),
                },
            }
        )
    return {"object": "list", "data": data}


async def list_models(request: web.Request) -> web.Response:
    request.app[KEYRING].authenticate(request.headers.get("Authorization"))
    return web.Response(body=request.app[CATALOGUE], content_type="application/json")


def catalogue_body(config: GatewayConfig) -> bytes:
    """The catalogue serialised once: it changes only with the configuration."""
    return orjson.dumps(catalogue_of(config))
