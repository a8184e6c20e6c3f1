"""The official openai SDK, pointed at the gateway, gets what the spec promises."""

from __future__ import annotations

import base64
import json

import httpx
import openai
import pytest

from tests.api.conftest import Gateway

HELLO = [{"role": "user", "content": "What is the capital of France?"}]


def test_sync_completion_carries_the_public_model_id(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=20)
    assert answer.object == "chat.completion"
    assert answer.model == "chat"
    assert answer.id.startswith("chatcmpl-")
    assert answer.choices[0].message.role == "assistant"
    assert "What is the capital of France?" in (answer.choices[0].message.content or "")
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


async def test_async_completion(async_client: openai.AsyncOpenAI) -> None:
    answer = await async_client.chat.completions.create(model="chat", messages=HELLO)
    assert answer.model == "chat"
    assert answer.choices[0].message.content


def test_streaming_relays_every_chunk_and_ends(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="chat", messages=HELLO, stream=True, max_tokens=8)
    )
    assert chunks, "no chunks"
    assert {c.model for c in chunks} == {"chat"}
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Hello from echo!")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks), "usage was not asked for"


def test_streaming_usage_only_when_asked(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="chat", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == 8


def test_tools_come_back_as_tool_calls(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get current weather for a location",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}},
                    "required": ["location"],
                },
            },
        }
    ]
    answer = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=tools,  # type: ignore[arg-type]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"location": "Paris"}  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"


def test_json_mode_returns_json(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="chat", messages=HELLO, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(answer.choices[0].message.content or ""), dict)


def test_vision_content_reaches_the_backend(client: openai.OpenAI) -> None:
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()
    answer = client.chat.completions.create(
        model="chat",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}},
                ],
            }
        ],
        max_tokens=30,
    )
    assert "I see 2 images." in (answer.choices[0].message.content or "")


def test_parameters_are_forwarded_untouched(client: openai.OpenAI, gateway: Gateway) -> None:
    client.chat.completions.create(
        model="chat",
        messages=HELLO,
        temperature=0.3,
        top_p=0.9,
        max_tokens=7,
        stop=["\n", "###"],
        n=1,
        seed=42,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logprobs=True,
        top_logprobs=2,
        user="user-7",
        logit_bias={"50256": -100},
        extra_body={"top_k": 40, "repetition_penalty": 1.1, "transforms": ["middle-out"]},
    )
    received = httpx.get(f"{gateway.fake_openai.url}/_requests").json()[-1]["body"]
    assert received["model"] == "echo", "the route's upstream model name"
    expected = {
        "messages": HELLO,
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 7,
        "stop": ["\n", "###"],
        "n": 1,
        "seed": 42,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "logprobs": True,
        "top_logprobs": 2,
        "user": "user-7",
        "logit_bias": {"50256": -100},
        "top_k": 40,
        "repetition_penalty": 1.1,
        "transforms": ["middle-out"],
    }
    assert {k: received[k] for k in expected} == expected


def test_streaming_asks_the_backend_for_usage(client: openai.OpenAI, gateway: Gateway) -> None:
    list(client.chat.completions.create(model="chat", messages=HELLO, stream=True))
    received = httpx.get(f"{gateway.fake_openai.url}/_requests").json()[-1]["body"]
    assert received["stream"] is True
    assert received["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_openrouter_prefix_serves_the_same_api(gateway: Gateway, prefix: str) -> None:
    with openai.OpenAI(base_url=gateway.url + prefix, api_key=gateway.key) as sdk:
        assert sdk.chat.completions.create(model="chat", messages=HELLO).model == "chat"
        assert next(m.id for m in sdk.models.list()) == "chat"
