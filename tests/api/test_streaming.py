"""Streams are relayed as they arrive, fail visibly, and end when the client goes away."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
import openai
import orjson
import pytest

from tests.api.conftest import Gateway, ledger_row, start_raw_stream

HELLO = [{"role": "user", "content": "hi"}]


def test_first_token_is_not_held_back(client: openai.OpenAI) -> None:
    # 30 tokens, 100 ms apart: the first must arrive long before the last is produced.
    started = time.monotonic()
    arrivals = []
    for chunk in client.chat.completions.create(model="slow", messages=HELLO, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 30
    assert arrivals[-1] > 2.5
    assert arrivals[0] < 1.0
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert sorted(gaps)[len(gaps) // 2] > 0.05, "chunks were batched instead of relayed"


def test_backend_going_silent_mid_stream_ends_with_an_error_event(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="stall", messages=HELLO, stream=True)
    received = []

    def consume() -> None:
        for chunk in stream:
            received.append(chunk)

    with pytest.raises(openai.APIError, match=r"stopped sending in time"):
        consume()
    assert received, "the chunks before the stall were relayed"


def test_backend_dropping_the_connection_mid_stream_ends_with_an_error_event(
    gateway: Gateway,
) -> None:
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        headers=gateway.headers,
        json={"model": "drop", "messages": HELLO, "stream": True},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert b"[DONE]" not in [e.encode() for e in events]
    error = orjson.loads(events[-1])["error"]
    assert error["code"] == "upstream_unreachable"
    assert len(events) >= 3, "the chunks before the drop were relayed"


async def test_client_hanging_up_cancels_the_upstream_request(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.fake_openai.url) as upstream:
        before = (await upstream.get("/_streams")).json()
        reader, writer = await start_raw_stream(gateway, "slow")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
        first = await asyncio.wait_for(reader.readuntil(b"\n\n"), 10)
        request_id = orjson.loads(first.split(b"data: ", 1)[1].split(b"\r\n", 1)[0])["id"]
        writer.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            after = (await upstream.get("/_streams")).json()
            if after["aborted"] > before["aborted"]:
                break
            await asyncio.sleep(0.05)
        assert after["aborted"] == before["aborted"] + 1, "the upstream stream was not cancelled"
        assert after["completed"] == before["completed"]
    row = await ledger_row(gateway, request_id)
    assert row["client_disconnected"] is True
    assert row["status"] == 499
    assert row["streamed"] is True


async def test_stream_ends_at_done_even_if_the_backend_keeps_its_body_open(
    gateway: Gateway,
) -> None:
    started = time.monotonic()
    async with (
        httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers, timeout=10) as http,
        http.stream(
            "POST",
            "/v1/chat/completions",
            json={"model": "linger", "messages": HELLO, "stream": True},
        ) as response,
    ):
        events = [line[6:] async for line in response.aiter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert time.monotonic() - started < 2.5, "the client waited for the backend's lingering body"
    row = await ledger_row(gateway, orjson.loads(events[0])["id"])
    assert (row["status"], row["client_disconnected"]) == (200, False)
