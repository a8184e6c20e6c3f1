"""`POST /v1/chat/completions`: validate, pick a route, relay the answer, record the request."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import os
from collections.abc import Awaitable
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from policies import RequestFeatures
from router.api.streaming import (
    BACKEND_HEADER,
    CLIENT_CLOSED_REQUEST,
    record_usage,
    relay_stream,
)
from router.dispatch import Route
from router.errors import (
    GatewayError,
    InvalidRequest,
    PayloadTooLarge,
    PermissionDenied,
)
from router.failover import serve_with_failover
from router.ledger import RequestRecord
from router.schemas import ChatCompletionRequest, describe_validation_error
from router.state import DISPATCHER, KEYRING, LEDGER, SETTINGS
from router.tokens import estimate_prompt_tokens

PIN_HEADER = "X-HybridInference-Pin-Backend"
ADMIN_KEY_HEADER = "X-HybridInference-Admin-Key"


_ID_PREFIX = "chatcmpl-" + os.urandom(8).hex()
_id_counter = itertools.count(1)


def new_request_id() -> str:
    """Unique across processes and restarts (random prefix), cheap within one (a counter)."""
    return f"{_ID_PREFIX}{next(_id_counter):08x}"


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    app = request.app
    key = app[KEYRING].authenticate(request.headers.get("Authorization"))
    record = RequestRecord(id=new_request_id(), key_id=key.id)
    try:
        return await _serve(request, record)
    except GatewayError as error:
        if not record.status:
            record.finish(error.status, error.code)
        raise
    except asyncio.CancelledError:
        # The client hung up (handler cancellation); the upstream request is cancelled with us.
        if not record.status:
            record.client_disconnected = True
            record.finish(CLIENT_CLOSED_REQUEST, "client_disconnected")
        raise
    except Exception:
        if not record.status:
            record.finish(500, "internal_error")
        raise
    finally:
        app[LEDGER].enqueue(record)


async def _read_payload(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(
            f"Request body exceeds {request.app[SETTINGS].max_body_bytes} bytes"
        ) from None
    if not raw:
        raise InvalidRequest("Request body is empty: expected a JSON object", code="invalid_json")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"Request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(payload, dict):
        raise InvalidRequest("Request body must be a JSON object", code="invalid_json")
    return payload


def _validate(payload: dict[str, Any]) -> ChatCompletionRequest:
    try:
        return ChatCompletionRequest.model_validate(payload)
    except ValidationError as exc:
        param, message = describe_validation_error(exc.errors())
        raise InvalidRequest(f"Invalid value for '{param}': {message}", param=param) from None


def _pinned_backend(request: web.Request) -> str | None:
    """The backend an operator forces for debugging; the pin needs the admin key."""
    pinned = request.headers.get(PIN_HEADER)
    if pinned is None:
        return None
    admin_key = request.app[SETTINGS].admin_key
    offered = request.headers.get(ADMIN_KEY_HEADER, "")
    if admin_key is None or not hmac.compare_digest(
        offered.encode(), admin_key.get_secret_value().encode()
    ):
        raise PermissionDenied(f"{PIN_HEADER} needs a valid {ADMIN_KEY_HEADER}")
    return pinned


def _features(
    chat: ChatCompletionRequest, payload: dict[str, Any], key_id: int, pinned: str | None
) -> RequestFeatures:
    max_price = chat.provider.max_price if chat.provider else None
    needs_vision = False
    for message in chat.messages:
        if isinstance(message.content, list):
            for part in message.content:
                if part.type == "image_url":
                    needs_vision = True
    return RequestFeatures(
        model=chat.model,
        prompt_tokens_estimate=estimate_prompt_tokens(payload["messages"]),
        max_tokens=chat.max_completion_tokens or chat.max_tokens,
        needs_tools=bool(chat.tools),
        needs_vision=needs_vision,
        needs_json=chat.response_format is not None and chat.response_format.type != "text",
        is_stream=bool(chat.stream),
        key_id=key_id,
        max_prompt_price_per_mtok=max_price.prompt if max_price else None,
        max_completion_price_per_mtok=max_price.completion if max_price else None,
        pinned_backend=pinned,
    )


async def _serve(request: web.Request, record: RequestRecord) -> web.StreamResponse:
    app = request.app
    payload = await _read_payload(request)
    if isinstance(payload.get("model"), str):
        record.model = payload["model"]
    chat = _validate(payload)
    dispatcher = app[DISPATCHER]
    model = dispatcher.model(chat.model)
    plan = dispatcher.plan(
        _features(chat, payload, record.key_id or 0, _pinned_backend(request)),
        chat.models or (),
        chat.provider,
    )
    if not plan.routes:
        raise plan.no_route_error(model.id)
    routes = plan.routes
    record.prompt_messages = payload["messages"]
    # One deadline for the whole request, every attempt included; backends bound each wait by it.
    deadline = asyncio.get_running_loop().time() + app[SETTINGS].request_timeout_s
    if chat.stream:

        def attempt(route: Route) -> Awaitable[web.StreamResponse]:
            return relay_stream(request, payload, route, record, deadline)

    else:

        def attempt(route: Route) -> Awaitable[web.StreamResponse]:
            return _complete(payload, route, route.model_id, record, deadline)

    return await serve_with_failover(routes, record, deadline, attempt, dispatcher.table)


async def _complete(
    payload: dict[str, Any],
    route: Route,
    public_model: str,
    record: RequestRecord,
    deadline: float,
) -> web.Response:
    answer = await route.backend.complete(route.upstream_body(payload), deadline)
    answer["id"] = record.id
    answer["model"] = public_model
    answer["provider"] = route.candidate.backend
    usage = answer.get("usage")
    if isinstance(usage, dict):
        record_usage(record, usage)
    else:
        record.completion_parts = [_message_text(c) for c in answer["choices"]]
    record.finish(200)
    return web.Response(
        body=orjson.dumps(answer),
        content_type="application/json",
        headers={BACKEND_HEADER: route.candidate.backend},
    )


def _message_text(choice: Any) -> str:
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            text += str(function.get("name", "")) + str(function.get("arguments", ""))
    return text
