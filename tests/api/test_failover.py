"""When a backend fails before answering, the next ranked route serves the request."""

from __future__ import annotations

import asyncio

import httpx
import openai
import orjson
import pytest

from tests.api.conftest import Gateway, ledger_row, start_raw_stream

HELLO = [{"role": "user", "content": "hi"}]


async def post(gateway: Gateway, body: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers) as http:
        return await http.post("/v1/chat/completions", json=body, timeout=10)


@pytest.mark.parametrize(
    ("model", "first_error"),
    [("failover", "upstream_unreachable"), ("failover-500", "upstream_error")],
)
async def test_a_failed_first_route_is_replaced_by_the_next(
    gateway: Gateway, model: str, first_error: str
) -> None:
    response = await post(gateway, {"model": model, "messages": HELLO})
    assert response.status_code == 200
    assert response.headers["X-HybridInference-Backend"] == "fake-keyed"
    answer = response.json()
    assert answer["provider"] == "fake-keyed"
    assert answer["model"] == model
    row = await ledger_row(gateway, answer["id"])
    assert row["attempts"] == 2
    assert row["backend"] == "fake-keyed"
    log = orjson.loads(row["attempt_log"])
    assert [(a["status"] >= 500, a["error_code"]) for a in log] == [
        (True, first_error),
        (False, None),
    ]
    assert [a["backend"] for a in log] == [
        ("nowhere" if model == "failover" else "fake"),
        "fake-keyed",
    ]


async def test_a_rejected_request_is_not_retried_elsewhere(gateway: Gateway) -> None:
    response = await post(gateway, {"model": "no-failover-400", "messages": HELLO})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upstream_rejected"


async def test_when_every_route_fails_the_last_error_is_returned(gateway: Gateway) -> None:
    response = await post(gateway, {"model": "all-down", "messages": HELLO})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


async def test_a_stream_that_had_not_started_is_retried(
    async_client: openai.AsyncOpenAI, gateway: Gateway
) -> None:
    stream = await async_client.chat.completions.create(
        model="failover", messages=HELLO, stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith(
        "Hello from echo!"
    )
    row = await ledger_row(gateway, chunks[0].id)
    assert (row["attempts"], row["backend"], row["status"]) == (2, "fake-keyed", 200)


async def test_a_stream_is_never_retried_after_its_first_byte(gateway: Gateway) -> None:
    async with (
        httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers, timeout=10) as http,
        http.stream(
            "POST",
            "/v1/chat/completions",
            json={"model": "failover-after-first-byte", "messages": HELLO, "stream": True},
        ) as response,
    ):
        assert response.headers["X-HybridInference-Backend"] == "fake"
        events = [line[6:] async for line in response.aiter_lines() if line.startswith("data: ")]
    assert orjson.loads(events[-1])["error"]["code"] == "upstream_unreachable"
    row = await ledger_row(gateway, orjson.loads(events[0])["id"])
    assert (row["attempts"], row["backend"]) == (1, "fake")


async def test_a_model_name_longer_than_the_ledger_column_is_recorded(gateway: Gateway) -> None:
    long_name = "m" * 300
    response = await post(gateway, {"model": long_name, "messages": HELLO})
    assert response.status_code == 404
    follow_up = await post(gateway, {"model": "chat", "messages": HELLO})
    row = await ledger_row(gateway, follow_up.json()["id"])
    assert row["status"] == 200, "a bad row must not hold up the ones after it"


async def test_the_circuit_breaker_takes_a_failing_backend_out_and_back(gateway: Gateway) -> None:
    # flaky: breaker opens after 2 consecutive failures, for 1 s; "breaker" routes flaky first.
    for _ in range(2):
        response = await post(gateway, {"model": "breaker", "messages": HELLO})
        assert response.status_code == 200
        assert (await ledger_row(gateway, response.json()["id"]))["attempts"] == 2
    skipped = await post(gateway, {"model": "breaker", "messages": HELLO})
    assert skipped.headers["X-HybridInference-Backend"] == "fake-keyed"
    assert (await ledger_row(gateway, skipped.json()["id"]))["attempts"] == 1, "flaky skipped"
    out = await post(gateway, {"model": "breaker-alone", "messages": HELLO})
    assert out.status_code == 503
    assert out.json()["error"]["code"] == "backend_unavailable"
    await asyncio.sleep(1.2)  # the cooldown passes: one probe request may go
    probe = await post(gateway, {"model": "breaker-alone", "messages": HELLO})
    assert probe.status_code == 200
    assert (await post(gateway, {"model": "breaker-alone", "messages": HELLO})).status_code == 200


async def test_clients_hanging_up_do_not_trip_the_breaker(gateway: Gateway) -> None:
    # flaky's breaker opens after 2 failures; 4 streams abandoned by their clients are not any.
    for _ in range(4):
        reader, writer = await start_raw_stream(gateway, "breaker-slow")
        await asyncio.wait_for(reader.readuntil(b"data: "), 10)
        writer.close()
    await asyncio.sleep(0.3)
    response = await post(gateway, {"model": "breaker-alone", "messages": HELLO})
    assert response.status_code == 200, response.text
