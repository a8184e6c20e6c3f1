"""Every request, served or not, becomes exactly one ledger row with what happened."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import pytest

from tests.api.conftest import Gateway, ledger_row, ledger_rows_since

HELLO = [{"role": "user", "content": "What is the capital of France?"}]


async def test_a_completion_is_recorded_with_backend_usage_and_cost(
    async_client: openai.AsyncOpenAI, gateway: Gateway
) -> None:
    answer = await async_client.chat.completions.create(model="chat", messages=HELLO)
    row = await ledger_row(gateway, answer.id)
    assert answer.usage is not None
    assert row["model"] == "chat"
    assert row["backend"] == "fake"
    assert row["upstream_model"] == "echo"
    assert row["attempts"] == 1
    assert row["status"] == 200
    assert row["error_code"] is None
    assert row["prompt_tokens"] == answer.usage.prompt_tokens
    assert row["completion_tokens"] == answer.usage.completion_tokens
    assert row["tokens_counted_locally"] is False
    expected_cost = (answer.usage.prompt_tokens * 1.0 + answer.usage.completion_tokens * 2.0) / 1e6
    assert row["cost_usd"] == pytest.approx(expected_cost)
    assert row["streamed"] is False
    assert row["client_disconnected"] is False
    assert row["latency_ms"] > 0
    assert row["finished_at"] >= row["started_at"]
    assert row["key_id"] is not None


async def test_a_stream_is_recorded_with_time_to_first_token(
    async_client: openai.AsyncOpenAI, gateway: Gateway
) -> None:
    stream = await async_client.chat.completions.create(model="chat", messages=HELLO, stream=True)
    ids = {chunk.id async for chunk in stream}
    row = await ledger_row(gateway, ids.pop())
    assert row["streamed"] is True
    assert row["status"] == 200
    assert row["completion_tokens"] == 8, "from the backend's usage chunk"
    assert 0 < row["ttft_ms"] <= row["latency_ms"]


@pytest.mark.parametrize("stream", [False, True])
async def test_tokens_are_counted_when_the_backend_reports_none(
    async_client: openai.AsyncOpenAI, gateway: Gateway, stream: bool
) -> None:
    if stream:
        chunks = await async_client.chat.completions.create(
            model="nousage", messages=HELLO, stream=True
        )
        request_id = next(iter([c.id async for c in chunks]))
    else:
        answer = await async_client.chat.completions.create(model="nousage", messages=HELLO)
        assert answer.usage is None
        request_id = answer.id
    row = await ledger_row(gateway, request_id)
    assert row["tokens_counted_locally"] is True
    # "Hello from echo! You said:" is 5 words but 7 cl100k tokens: Hello|_from|_echo|!|_You|_said|:
    assert row["completion_tokens"] == 7
    assert row["prompt_tokens"] > 7


async def test_failures_are_recorded_too(gateway: Gateway) -> None:
    since = time.time()
    async with httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers) as http:
        for body, status in (
            ({"model": "chat", "messages": HELLO, "temperature": 9}, 400),
            ({"model": "no-such-model", "messages": HELLO}, 404),
            ({"model": "error-500", "messages": HELLO}, 502),
            ({"model": "unreachable", "messages": HELLO}, 502),
        ):
            assert (await http.post("/v1/chat/completions", json=body)).status_code == status
    rows = await wait_for_rows(gateway, since, 4)
    assert [(r["model"], r["status"], r["error_code"]) for r in rows] == [
        ("chat", 400, "invalid_parameter"),
        ("no-such-model", 404, "model_not_found"),
        ("error-500", 502, "upstream_error"),
        ("unreachable", 502, "upstream_unreachable"),
    ]
    assert [r["attempts"] for r in rows] == [0, 0, 1, 1]
    assert all(r["cost_usd"] is None for r in rows)


async def wait_for_rows(gateway: Gateway, since: float, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        rows = await ledger_rows_since(gateway, since)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)
