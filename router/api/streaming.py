"""Relaying a backend's stream to the client as server-sent events.

Chunks that arrive in one read leave in one write, rewritten with the request's id, the public
model and the backend that served it; the last batch, `[DONE]` and the end of the body share one
send. A failure before the first byte is raised (so the request can go to another route); after
it, it travels as a final error event, which OpenAI's SDKs raise.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import orjson
from aiohttp import web

from router.dispatch import Route
from router.errors import BackendError
from router.ledger import RequestRecord
from router.sse import DONE_FRAME, SSE_HEADERS, frame

CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that hung up first
BACKEND_HEADER = "X-HybridInference-Backend"


async def relay_stream(
    request: web.Request,
    payload: dict[str, Any],
    route: Route,
    record: RequestRecord,
    deadline: float,
) -> web.StreamResponse:
    public_model = route.model_id
    client_options = payload.get("stream_options")
    wants_usage = isinstance(client_options, dict) and bool(client_options.get("include_usage"))
    body = route.upstream_body(payload)
    # Always ask for usage so the ledger has the backend's own counts; drop it if not wanted.
    body["stream_options"] = {**(client_options or {}), "include_usage": True}
    record.streamed = True
    parts: list[str] = []
    record.completion_parts = parts
    response: web.StreamResponse | None = None
    is_delivered = False
    try:
        async with aclosing(route.backend.stream(body, deadline)) as batches:
            async for batch in batches:
                frames = _client_frames(
                    batch.chunks, record, parts, wants_usage, public_model, route.candidate.backend
                )
                if response is None and (frames or batch.is_final):
                    response = await _start_stream(request, route.candidate.backend)
                if batch.is_final:
                    # The last events, [DONE] and the end of the body: one send.
                    assert response is not None
                    await response.write_eof(frames + DONE_FRAME)
                    is_delivered = True
                    record.finish(200)  # whatever happens next, the client has it all
                elif frames:
                    assert response is not None
                    await response.write(frames)
    except BackendError as error:
        failure: BackendError = error
    except ConnectionResetError:
        record.client_disconnected = True
        record.finish(CLIENT_CLOSED_REQUEST, "client_disconnected")
        return response or web.StreamResponse(status=CLIENT_CLOSED_REQUEST)
    else:
        assert response is not None, "a backend stream always ends with a final batch"
        return response
    if is_delivered and response is not None:
        return response  # only reading past [DONE] failed: the client has it all
    if response is None:
        raise failure  # nothing sent yet: an ordinary error response
    # Headers are gone: the failure travels as an error event, which OpenAI's SDKs raise.
    record.finish(failure.status, failure.code)
    try:
        await response.write(frame(orjson.dumps(failure.to_body())))
    except ConnectionResetError:
        record.client_disconnected = True
    return response


def _client_frames(
    batch: list[dict[str, Any]],
    record: RequestRecord,
    parts: list[str],
    wants_usage: bool,
    public_model: str,
    backend: str,
) -> bytes:
    """The SSE bytes for chunks that arrived together, noting usage and text on the record."""
    frames = []
    for chunk in batch:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            record_usage(record, usage)
        choices = chunk.get("choices")
        if choices:
            if _collect_delta_text(choices, parts) and record.ttft_ms is None:
                record.ttft_ms = record.elapsed_ms()
        elif usage is not None and not wants_usage:
            continue  # the usage-only chunk the gateway asked for on its own behalf
        if not wants_usage:
            chunk.pop("usage", None)
        chunk["id"] = record.id
        chunk["model"] = public_model
        chunk["provider"] = backend
        frames.append(frame(orjson.dumps(chunk)))
    return b"".join(frames)


class _EventStream(web.StreamResponse):
    # aiohttp sends a StreamResponse's headers on their own at prepare(); holding them for the
    # first body bytes, as its plain Response does, saves a send per stream.
    _send_headers_immediately = False


async def _start_stream(request: web.Request, backend: str) -> web.StreamResponse:
    response = _EventStream(headers={**SSE_HEADERS, BACKEND_HEADER: backend})
    await response.prepare(request)
    return response


def record_usage(record: RequestRecord, usage: dict[str, Any]) -> None:
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    if isinstance(prompt, int):
        record.prompt_tokens = prompt
    if isinstance(completion, int):
        record.completion_tokens = completion


def _collect_delta_text(choices: Any, parts: list[str]) -> bool:
    """Appends the text a stream chunk carries; whether it carried any."""
    carried = False
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        content = delta.get("content")
        if content:
            parts.append(content)
            carried = True
        for call in delta.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                parts.append(str(function.get("name") or "") + str(function.get("arguments") or ""))
                carried = True
    return carried
