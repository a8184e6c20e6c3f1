"""Postgres going away does not stop the gateway, and the ledger loses nothing.

The gateway reaches Postgres through a TCP proxy the test cuts and restores; the test reads the
ledger over a direct connection.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.servers import (
    ServerProcess,
    create_database,
    create_key,
    drop_database,
    gateway_env,
    postgres_url,
    start_fake_openai,
    start_gateway,
)
from tests.support.tcp_proxy import TcpProxy

CONFIG = """\
backends: [{{name: fake, type: openai, base_url: "{fake}/v1"}}]
models: [{{id: chat, routes: [{{backend: fake, model: echo}}]}}]
"""
HELLO = [{"role": "user", "content": "hi"}]


async def started_gateway(setup: Setup, log_name: str) -> ServerProcess:
    # From a thread: the gateway's start-up talks to Postgres through the proxy, which runs on
    # this test's event loop and must keep running meanwhile.
    return await asyncio.to_thread(start_gateway, setup.config, setup.env, setup.workdir / log_name)


def spilled_rows(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@dataclass
class Setup:
    proxy: TcpProxy
    database: str
    config: Path
    env: dict[str, str]
    key: str
    workdir: Path


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    fake = start_fake_openai(tmp_path)
    database = await create_database("hi_outage")
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(fake=fake.url))
    env = gateway_env(postgres_url(database, proxy.port), tmp_path)
    key = create_key(gateway_env(postgres_url(database), tmp_path))
    yield Setup(proxy, database, config, env, key, tmp_path)
    await proxy.stop()
    fake.stop()
    await drop_database(database)


async def request_ids(gateway: ServerProcess, key: str, count: int) -> list[str]:
    """`count` completions, alternately plain and streamed; all must succeed."""
    ids = []
    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as http:
        for i in range(count):
            body = {"model": "chat", "messages": HELLO, "stream": i % 2 == 1}
            response = await http.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
            if body["stream"]:
                first = response.text.split("data: ", 2)[1]
                ids.append(first.split('"id":"', 1)[1].split('"', 1)[0])
            else:
                ids.append(response.json()["id"])
    return ids


async def stored_ids(database: str) -> list[str]:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        return [r["id"] for r in await connection.fetch("SELECT id FROM ledger")]
    finally:
        await connection.close()


async def wait_for_ids(database: str, expected: set[str], timeout_s: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        ids = await stored_ids(database)
        if expected <= set(ids) or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.1)


async def test_requests_are_served_through_an_outage_and_every_row_arrives(setup: Setup) -> None:
    gateway = await started_gateway(setup, "gateway.log")
    try:
        before = await request_ids(gateway, setup.key, 10)
        assert set(before) <= set(await wait_for_ids(setup.database, set(before)))
        await setup.proxy.stop()
        during = await request_ids(gateway, setup.key, 40)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{gateway.url}/health")).json()["status"] == "ok"
        assert not set(during) & set(await stored_ids(setup.database))
        await setup.proxy.restart()
        stored = await wait_for_ids(setup.database, set(during))
        assert sorted(stored) == sorted(before + during), "every row, exactly once"
    finally:
        await asyncio.to_thread(gateway.stop)


async def test_rows_held_at_shutdown_during_an_outage_are_written_by_the_next_start(
    setup: Setup,
) -> None:
    gateway = await started_gateway(setup, "gateway.log")
    await request_ids(gateway, setup.key, 2)  # keys loaded, schema in place
    await setup.proxy.stop()
    during = await request_ids(gateway, setup.key, 20)
    # A blocking wait would freeze the proxy's event loop; the gateway needs nothing from it.
    exit_code = await asyncio.to_thread(gateway.stop, signal.SIGTERM)
    assert exit_code == 0
    spill = Path(setup.env["HI_LEDGER_SPILL_PATH"])
    assert await asyncio.to_thread(spilled_rows, spill) >= 20
    await setup.proxy.restart()
    restarted = await started_gateway(setup, "gateway-2.log")
    try:
        stored = await wait_for_ids(setup.database, set(during))
        assert set(during) <= set(stored)
        assert len(stored) == len(set(stored)) == 22
        await asyncio.sleep(1)  # the replay clears the file right after its last insert
        assert await asyncio.to_thread(spilled_rows, spill) == 0, "replayed and removed"
    finally:
        await asyncio.to_thread(restarted.stop)


async def test_a_gateway_restarted_during_an_outage_still_knows_its_keys(setup: Setup) -> None:
    gateway = await started_gateway(setup, "gateway.log")
    await request_ids(gateway, setup.key, 1)
    await asyncio.to_thread(gateway.stop)
    await setup.proxy.stop()
    restarted = await started_gateway(setup, "gateway-2.log")
    try:
        during = await request_ids(restarted, setup.key, 6)
        async with httpx.AsyncClient() as http:
            rejected = await http.post(
                f"{restarted.url}/v1/chat/completions",
                headers={"Authorization": "Bearer hi-not-a-key"},
                json={"model": "chat", "messages": HELLO},
            )
        assert rejected.status_code == 401
        await setup.proxy.restart()
        assert set(during) <= set(await wait_for_ids(setup.database, set(during)))
    finally:
        await asyncio.to_thread(restarted.stop)
    assert "serving 1 API keys from" in restarted.log()
