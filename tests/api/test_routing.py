"""Routes that cannot serve a request are left out, and an operator can pin one backend."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import ADMIN_KEY, Gateway

HELLO = [{"role": "user", "content": "hi"}]
PICTURE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ],
    }
]


async def post(
    gateway: Gateway, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers) as http:
        return await http.post("/v1/chat/completions", json=body, headers=headers, timeout=10)


async def test_an_image_goes_only_to_a_route_that_accepts_images(gateway: Gateway) -> None:
    text = await post(gateway, model="vision-where-possible", messages=HELLO)
    assert text.headers["X-HybridInference-Backend"] == "fake"
    image = await post(gateway, model="vision-where-possible", messages=PICTURE)
    assert image.status_code == 200
    assert image.headers["X-HybridInference-Backend"] == "fake-keyed"


async def test_an_image_for_a_text_only_model_is_refused_with_the_reason(gateway: Gateway) -> None:
    response = await post(gateway, model="text-only", messages=PICTURE)
    assert response.status_code == 503
    assert "fake:" in response.json()["error"]["message"]


async def test_a_prompt_longer_than_the_context_is_a_400(gateway: Gateway) -> None:
    long_prompt = [{"role": "user", "content": "word " * 400}]
    response = await post(gateway, model="tiny-context", messages=long_prompt)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")


async def test_an_operator_pins_a_backend_with_the_admin_key(gateway: Gateway) -> None:
    pinned = {"X-HybridInference-Pin-Backend": "fake-keyed"}
    response = await post(
        gateway, {**pinned, "X-HybridInference-Admin-Key": ADMIN_KEY}, model="chat-two",
        messages=HELLO,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["X-HybridInference-Backend"] == "fake-keyed"
    elsewhere = await post(
        gateway, {"X-HybridInference-Pin-Backend": "claude",
                  "X-HybridInference-Admin-Key": ADMIN_KEY}, model="chat-two", messages=HELLO,
    )  # fmt: skip
    assert elsewhere.status_code == 503


async def test_a_pin_without_the_admin_key_is_refused(gateway: Gateway) -> None:
    for admin_key in (None, "wrong"):
        headers = {"X-HybridInference-Pin-Backend": "fake-keyed"}
        if admin_key:
            headers["X-HybridInference-Admin-Key"] = admin_key
        response = await post(gateway, headers, model="chat-two", messages=HELLO)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
