"""A provider that needs translation (Anthropic's Messages API), reached through litellm."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.api.conftest import ANTHROPIC_KEY, Gateway, ledger_row

HELLO = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a colour"},
]


async def test_completion_is_translated_both_ways(
    async_client: openai.AsyncOpenAI, gateway: Gateway
) -> None:
    answer = await async_client.chat.completions.create(
        model="claude-haiku", messages=HELLO, max_tokens=50
    )
    assert answer.model == "claude-haiku"
    assert answer.choices[0].message.content == (
        "Hello from claude-3-5-haiku-latest! You said: Name a colour"
    )
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 8
    async with httpx.AsyncClient() as http:
        received = (await http.get(f"{gateway.fake_anthropic.url}/_requests")).json()[-1]
    assert received["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert received["body"]["model"] == "claude-3-5-haiku-latest"
    assert received["body"]["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    assert received["body"]["max_tokens"] == 50
    row = await ledger_row(gateway, answer.id)
    assert row["backend"] == "claude"
    assert row["completion_tokens"] == 8
    assert row["cost_usd"] == pytest.approx((answer.usage.prompt_tokens * 0.8 + 8 * 4.0) / 1e6)


async def test_stream_is_translated_to_openai_chunks(
    async_client: openai.AsyncOpenAI, gateway: Gateway
) -> None:
    stream = await async_client.chat.completions.create(
        model="claude-haiku", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert {c.model for c in chunks} == {"claude-haiku"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from claude-3-5-haiku-latest! You said: Name a colour"
    usage = next(c.usage for c in reversed(chunks) if c.usage)
    assert usage.completion_tokens == 8
    row = await ledger_row(gateway, chunks[0].id)
    assert row["streamed"] is True
    assert row["status"] == 200
    assert row["completion_tokens"] == 8


def test_tools_are_translated(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="claude-haiku",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                },
            }
        ],
    )
    call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"


def test_provider_rate_limit_is_a_429(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers=gateway.headers,
        json={"model": "claude-limited", "messages": HELLO},
    )
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "upstream_rate_limited"
    assert ANTHROPIC_KEY not in response.text
    assert "Traceback" not in response.text
