"""`GET /health`: liveness for load balancers; 503 while draining so they stop sending."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from aiohttp import web

from router.state import LIFECYCLE


async def health(request: web.Request) -> web.Response:
    is_draining = request.app[LIFECYCLE].is_draining
    body = {
        "status": "draining" if is_draining else "ok",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return web.Response(
        status=503 if is_draining else 200, body=orjson.dumps(body), content_type="application/json"
    )
