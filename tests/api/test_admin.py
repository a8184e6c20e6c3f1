"""The operators' API: the live backend table, behind the admin key."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import ADMIN_KEY, Gateway


async def test_the_live_table_shows_every_backend_and_its_traffic(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        served = await http.post(
            "/v1/chat/completions",
            headers=gateway.headers,
            json={"model": "chat-two", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert served.status_code == 200
        response = await http.get(
            "/admin/v1/backends", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()["data"]}
    assert set(rows) == {"fake", "fake-tight", "fake-keyed", "nowhere", "flaky", "claude"}
    serving = rows[served.headers["X-HybridInference-Backend"]]
    assert serving["admin_state"] == "enabled"
    assert serving["in_flight"] == 0
    assert serving["latency_ms"]["ewma"] > 0
    assert rows["claude"]["locality"] == "cloud"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {ADMIN_KEY}"])
async def test_the_admin_api_needs_the_admin_key(
    gateway: Gateway, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.get("/admin/v1/backends", headers=headers)
        client_key = await http.get("/admin/v1/backends", headers=gateway.headers)
    assert response.status_code == 401
    assert client_key.status_code == 401, "a client key is not an admin key"
