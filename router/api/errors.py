"""The one place errors become HTTP responses in the spec's shape."""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from router.errors import (
    GatewayError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
)

log = logging.getLogger(__name__)


def error_response(error: GatewayError) -> web.Response:
    response = web.Response(
        status=error.status, body=orjson.dumps(error.to_body()), content_type="application/json"
    )
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return response


def from_http_exception(exc: web.HTTPException) -> GatewayError:
    if exc.status == 404:
        return NotFound("Unknown endpoint: check the method and path")
    if exc.status == 405:
        return MethodNotAllowed("Method not allowed for this endpoint")
    if exc.status == 413:
        return PayloadTooLarge("Request body too large")
    error = GatewayError(exc.reason or "HTTP error", status=exc.status)
    error.type = "invalid_request_error" if exc.status < 500 else "api_error"
    error.code = exc.reason.lower().replace(" ", "_") if exc.reason else "http_error"
    return error


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(from_http_exception(exc))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(GatewayError("Internal server error"))
