"""A fake OpenAI-compatible inference server, scripted by model name (see `router.fakes.script`).

`python -m router.fakes.openai_upstream --port 8001` serves `/v1/chat/completions`,
`/v1/models` and `/health`; `GET /_requests` returns the bodies and headers it received, so tests
can check what the gateway forwarded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import orjson
from aiohttp import web

from router.fakes.responses import json_response
from router.fakes.script import Script, parse_script, prompt_words, reply_words, tool_arguments

RECEIVED = web.AppKey("received", list)
STREAMS = web.AppKey("streams", dict)
MAX_REMEMBERED = 200


def _error(script: Script, request: web.Request) -> web.Response:
    status = script.status or 500
    detail = f" (Authorization: {request.headers.get('Authorization')})" if script.leak else ""
    headers = {"Retry-After": script.retry_after} if script.retry_after else None
    return json_response(
        {
            "error": {
                "message": f"scripted failure {status}{detail}",
                "type": "server_error",
                "code": status,
            }
        },
        status,
        headers,
    )


def _message(script: Script, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The assistant message and its length in tokens."""
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    choice = body.get("tool_choice", "auto")
    if tools and choice != "none":
        tool = tools[0]["function"]
        if isinstance(choice, dict):
            tool = next(
                t["function"] for t in tools if t["function"]["name"] == choice["function"]["name"]
            )
        call = {
            "id": "call_" + os.urandom(6).hex(),
            "type": "function",
            "function": {
                "name": tool["name"],
                "arguments": orjson.dumps(tool_arguments(tool.get("parameters"))).decode(),
            },
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}, 10
    words = reply_words(
        script, messages, body.get("max_completion_tokens") or body.get("max_tokens")
    )
    fmt = (body.get("response_format") or {}).get("type")
    if fmt in ("json_object", "json_schema"):
        return {
            "role": "assistant",
            "content": orjson.dumps({"reply": " ".join(words)}).decode(),
        }, len(words)
    return {"role": "assistant", "content": " ".join(words)}, len(words)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await request.json(loads=orjson.loads)
    received = request.app[RECEIVED]
    received.append({"body": body, "headers": {str(k): v for k, v in request.headers.items()}})
    del received[:-MAX_REMEMBERED]
    script = parse_script(str(body.get("model", "echo")))
    if script.hang:
        await asyncio.sleep(3600)
    if script.ttft_ms:
        await asyncio.sleep(script.ttft_ms / 1000)
    if script.status:
        return _error(script, request)
    if script.garbage:
        return web.Response(body=b"<html>oops</html>", content_type="text/html")
    message, completion_tokens = _message(script, body)
    prompt_tokens = prompt_words(body.get("messages") or [])
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    base = {
        "id": "chatcmpl-fake" + os.urandom(6).hex(),
        "created": int(time.time()),
        "model": body.get("model"),
        "system_fingerprint": "fake",
    }
    if not body.get("stream"):
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        answer = {
            **base,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
        }
        if script.has_usage:
            answer["usage"] = usage
        return json_response(answer)
    streams = request.app[STREAMS]
    streams["started"] += 1
    try:
        response = await _send_stream(request, script, body, base, message, usage)
    except (asyncio.CancelledError, ConnectionResetError):
        # The client (the gateway) went away mid-stream: what a cancelled upstream request is.
        streams["aborted"] += 1
        raise
    streams["completed"] += 1
    return response


async def _send_stream(
    request: web.Request,
    script: Script,
    body: dict[str, Any],
    base: dict[str, Any],
    message: dict[str, Any],
    usage: dict[str, int],
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    include_usage = script.has_usage and bool(
        (body.get("stream_options") or {}).get("include_usage")
    )
    chunk = {**base, "object": "chat.completion.chunk"}
    if include_usage:
        chunk["usage"] = None

    async def send(delta: dict[str, Any], finish: str | None = None) -> None:
        payload = {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        await response.write(b"data: " + orjson.dumps(payload) + b"\n\n")

    await send({"role": "assistant", "content": ""})
    if message.get("tool_calls"):
        await send({"tool_calls": [{"index": 0, **message["tool_calls"][0]}]})
        pieces: list[str] = []
    else:
        words = message["content"].split(" ")
        pieces = [words[0]] + [" " + w for w in words[1:]]
    for sent, piece in enumerate(pieces):
        if script.drop_after is not None and sent >= script.drop_after:
            assert request.transport is not None
            request.transport.abort()
            return response
        if script.stall_after is not None and sent >= script.stall_after:
            await asyncio.sleep(3600)
        if script.token_ms and sent:
            await asyncio.sleep(script.token_ms / 1000)
        await send({"content": piece})
    await send({}, "tool_calls" if message.get("tool_calls") else "stop")
    if include_usage:
        await response.write(
            b"data: " + orjson.dumps({**chunk, "choices": [], "usage": usage}) + b"\n\n"
        )
    await response.write(b"data: [DONE]\n\n")
    if script.linger_ms:
        await asyncio.sleep(script.linger_ms / 1000)
    return response


async def list_models(request: web.Request) -> web.Response:
    return json_response(
        {"object": "list", "data": [{"id": "echo", "object": "model", "owned_by": "fake"}]}
    )


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def received_requests(request: web.Request) -> web.Response:
    return json_response(request.app[RECEIVED])


async def stream_stats(request: web.Request) -> web.Response:
    return json_response(request.app[STREAMS])


def build_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[RECEIVED] = []
    app[STREAMS] = {"started": 0, "completed": 0, "aborted": 0}
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/health", health)
    app.router.add_get("/_requests", received_requests)
    app.router.add_get("/_streams", stream_stats)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    web.run_app(
        build_app(),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        handler_cancellation=True,
    )


if __name__ == "__main__":
    main()
