"""A fake of Anthropic's Messages API (`POST /v1/messages`), scripted like the OpenAI fake.

Reached by the gateway through litellm with `base_url` as litellm's `api_base`.
`python -m router.fakes.anthropic_upstream --port 8002 [--api-key KEY]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import orjson
from aiohttp import web

from router.fakes.responses import json_response
from router.fakes.script import parse_script, prompt_words, reply_words, tool_arguments

API_KEY = web.AppKey("api_key", str)
RECEIVED = web.AppKey("received", list)


def _error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response(
        {"type": "error", "error": {"type": kind, "message": message}}, status, headers
    )


async def messages(request: web.Request) -> web.StreamResponse:
    expected = request.app[API_KEY]
    if expected and request.headers.get("x-api-key") != expected:
        return _error(401, "authentication_error", "invalid x-api-key")
    body = await request.json(loads=orjson.loads)
    request.app[RECEIVED].append(
        {"body": body, "headers": {str(k): v for k, v in request.headers.items()}}
    )
    script = parse_script(str(body.get("model", "claude")))
    if script.ttft_ms:
        await asyncio.sleep(script.ttft_ms / 1000)
    if script.status:
        kind = {429: "rate_limit_error", 400: "invalid_request_error"}.get(
            script.status, "api_error"
        )
        headers = {"retry-after": script.retry_after} if script.retry_after else None
        return _error(script.status, kind, f"scripted failure {script.status}", headers)
    msgs = body.get("messages") or []
    input_tokens = prompt_words(msgs, body.get("system"))
    tools = body.get("tools") or []
    if tools and (body.get("tool_choice") or {}).get("type") != "none":
        tool = tools[0]
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": "toolu_" + os.urandom(6).hex(),
            "name": tool["name"],
            "input": tool_arguments(tool.get("input_schema")),
        }
        words: list[str] = []
        stop_reason = "tool_use"
    else:
        words = reply_words(script, msgs, body.get("max_tokens"))
        block = {"type": "text", "text": " ".join(words)}
        stop_reason = "end_turn"
    output_tokens = max(1, len(words))
    message = {
        "id": "msg_" + os.urandom(8).hex(),
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "stop_reason": None,
        "stop_sequence": None,
    }
    if not body.get("stream"):
        return json_response(
            {
                **message,
                "content": [block],
                "stop_reason": stop_reason,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def event(name: str, data: dict[str, Any]) -> None:
        await response.write(
            f"event: {name}\ndata: ".encode() + orjson.dumps({"type": name, **data}) + b"\n\n"
        )

    await event(
        "message_start",
        {
            "message": {
                **message,
                "content": [],
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            }
        },
    )
    if block["type"] == "text":
        await event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        )
        for i, word in enumerate(words):
            if script.token_ms and i:
                await asyncio.sleep(script.token_ms / 1000)
            await event(
                "content_block_delta",
                {
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
                },
            )
    else:
        await event("content_block_start", {"index": 0, "content_block": {**block, "input": {}}})
        await event(
            "content_block_delta",
            {
                "index": 0,
                "delta": {
                    "type": "input_json_delta",
                    "partial_json": orjson.dumps(block["input"]).decode(),
                },
            },
        )
    await event("content_block_stop", {"index": 0})
    await event(
        "message_delta",
        {
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    )
    await event("message_stop", {})
    return response


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def received_requests(request: web.Request) -> web.Response:
    return json_response(request.app[RECEIVED])


def build_app(api_key: str = "") -> web.Application:
    app = web.Application()
    app[API_KEY] = api_key
    app[RECEIVED] = []
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/_requests", received_requests)
    app.router.add_get("/health", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    web.run_app(
        build_app(args.api_key), host=args.host, port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
