"""The operators' API, behind `HI_ADMIN_KEY` (a separate credential from client keys).

`GET /admin/v1/backends`: the live backend table, as routing sees it now.
"""

from __future__ import annotations

import hmac
import time

import orjson
from aiohttp import web

from router.errors import AuthenticationFailed, NotFound
from router.state import DISPATCHER, SETTINGS


def _require_admin(request: web.Request) -> None:
    admin_key = request.app[SETTINGS].admin_key
    if admin_key is None:
        raise NotFound("The admin API is disabled: set HI_ADMIN_KEY to enable it")
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    expected = admin_key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), expected):
        raise AuthenticationFailed("Invalid admin key", code="invalid_admin_key")


async def list_backends(request: web.Request) -> web.Response:
    _require_admin(request)
    snapshot = request.app[DISPATCHER].table.snapshot(time.monotonic())
    return web.Response(
        body=orjson.dumps(
            {"object": "list", "data": [{"name": n, **v} for n, v in snapshot.items()]}
        ),
        content_type="application/json",
    )
