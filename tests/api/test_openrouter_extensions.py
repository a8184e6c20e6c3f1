"""OpenRouter's `models` fallback list and `provider` preferences steer where a request goes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Gateway, ledger_row

HELLO = [{"role": "user", "content": "hi"}]


async def post(gateway: Gateway, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers) as http:
        return await http.post("/v1/chat/completions", json={"messages": HELLO, **body}, timeout=10)


@pytest.mark.parametrize(
    ("provider", "backend"),
    [
        ({}, "fake"),
        ({"order": ["fake-keyed"]}, "fake-keyed"),
        ({"only": ["fake-keyed"]}, "fake-keyed"),
        ({"ignore": ["fake"]}, "fake-keyed"),
        ({"sort": "price"}, "fake-keyed"),
        ({"max_price": {"prompt": 1.5}}, "fake-keyed"),
    ],
)
async def test_provider_preferences_choose_the_backend(
    gateway: Gateway, provider: dict[str, Any], backend: str
) -> None:
    response = await post(gateway, model="chat-two", provider=provider)
    assert response.status_code == 200, response.text
    assert response.headers["X-HybridInference-Backend"] == backend
    assert response.json()["provider"] == backend


async def test_preferences_that_leave_no_backend_are_a_503(gateway: Gateway) -> None:
    response = await post(gateway, model="chat-two", provider={"only": ["elsewhere"]})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_without_fallbacks_a_failing_first_route_is_the_answer(gateway: Gateway) -> None:
    response = await post(gateway, model="failover", provider={"allow_fallbacks": False})
    assert response.status_code == 502


async def test_a_fallback_model_serves_when_the_first_fails(gateway: Gateway) -> None:
    response = await post(gateway, model="error-500", models=["chat"])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "chat", "the model that actually served"
    row = await ledger_row(gateway, answer["id"])
    assert (row["model"], row["attempts"], row["upstream_model"]) == ("error-500", 2, "echo")


async def test_an_unknown_fallback_model_is_a_404_naming_it(gateway: Gateway) -> None:
    response = await post(gateway, model="chat", models=["chat", "no-such-model"])
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "models[1]"


async def test_extensions_are_not_forwarded_to_the_backend(gateway: Gateway) -> None:
    response = await post(gateway, model="chat", models=["chat-two"], provider={"sort": "price"})
    assert response.status_code == 200
    async with httpx.AsyncClient() as http:
        received = (await http.get(f"{gateway.fake_openai.url}/_requests")).json()[-1]["body"]
    assert "models" not in received
    assert "provider" not in received


@pytest.mark.parametrize(
    ("provider", "param"),
    [
        ({"sort": "random"}, "provider.sort"),
        ({"order": "fake"}, "provider.order"),
        ({"max_price": {"prompt": -1}}, "provider.max_price.prompt"),
    ],
)
async def test_malformed_preferences_are_a_400_naming_the_field(
    gateway: Gateway, provider: dict[str, Any], param: str
) -> None:
    response = await post(gateway, model="chat", provider=provider)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
