"""One gateway process for the API tests, in front of both fake upstreams and a dead port,
with its ledger in a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import openai
import orjson
import pytest

from tests.support.servers import (
    ServerProcess,
    create_database,
    create_key,
    drop_database,
    free_port,
    gateway_env,
    postgres_url,
    start_fake_anthropic,
    start_fake_openai,
    start_gateway,
)

ANTHROPIC_KEY = "sk-ant-fake-0123456789abcdef"
OPENAI_BACKEND_KEY = "sk-upstream-secret-9876543210"
ADMIN_KEY = "admin-secret-for-tests"
REQUEST_TIMEOUT_S = 4
MAX_BODY_BYTES = 65536

CONFIG = """\
backends:
  # These backends fail on purpose, test after test: their breakers would take them out.
  - name: fake
    type: openai
    base_url: "{fake}/v1"
    locality: local
    max_concurrency: 32
    circuit_breaker: {{enabled: false}}
  - name: fake-tight
    type: openai
    base_url: "{fake}/v1"
    connect_timeout_s: 1
    read_timeout_s: 1
    circuit_breaker: {{enabled: false}}
  - name: fake-keyed
    type: openai
    base_url: "{fake}/v1"
    api_key_env: FAKE_OPENAI_KEY
    circuit_breaker: {{enabled: false}}
  - name: nowhere
    type: openai
    base_url: "http://127.0.0.1:{dead_port}/v1"
    circuit_breaker: {{enabled: false}}
  - name: flaky
    type: openai
    base_url: "{fake}/v1"
    circuit_breaker: {{failure_threshold: 2, cooldown_s: 1}}
  - name: claude
    type: litellm
    provider: anthropic
    base_url: "{anthropic}"
    api_key_env: FAKE_ANTHROPIC_KEY
    locality: cloud
    circuit_breaker: {{enabled: false}}
models:
  - id: chat
    context_length: 32768
    architecture: {{modality: "text+image->text", tokenizer: llama3, instruct_type: llama3}}
    routes: [{{backend: fake, model: echo, cost: {{prompt: 1.0, completion: 2.0}}}}]
  - {{id: nousage, routes: [{{backend: fake, model: "echo?usage=0&tokens=5"}}]}}
  - {{id: slow, routes: [{{backend: fake, model: "echo?tokens=30&token_ms=100"}}]}}
  - {{id: error-500, routes: [{{backend: fake, model: "echo?status=500"}}]}}
  - {{id: error-400, routes: [{{backend: fake, model: "echo?status=400"}}]}}
  - {{id: error-429, routes: [{{backend: fake, model: "echo?status=429&retry_after=7"}}]}}
  - {{id: leaky, routes: [{{backend: fake-keyed, model: "echo?status=401&leak=1"}}]}}
  - {{id: garbage, routes: [{{backend: fake, model: "echo?garbage=1"}}]}}
  - {{id: hang, routes: [{{backend: fake, model: "echo?hang=1"}}]}}
  - {{id: silent, routes: [{{backend: fake-tight, model: "echo?hang=1"}}]}}
  - {{id: stall, routes: [{{backend: fake-tight, model: "echo?stall_after=2&tokens=10"}}]}}
  - {{id: linger, routes: [{{backend: fake, model: "echo?linger_ms=5000"}}]}}
  - {{id: drop, routes: [{{backend: fake, model: "echo?drop_after=2&tokens=10"}}]}}
  - {{id: unreachable, routes: [{{backend: nowhere, model: echo}}]}}
  - id: failover
    policy: first-route  # these tests are about the order of attempts
    routes: [{{backend: nowhere, model: echo}}, {{backend: fake-keyed, model: echo}}]
  - id: failover-500
    policy: first-route  # these tests are about the order of attempts
    routes: [{{backend: fake, model: "echo?status=503"}}, {{backend: fake-keyed, model: echo}}]
  - id: no-failover-400
    policy: first-route  # these tests are about the order of attempts
    routes: [{{backend: fake, model: "echo?status=400"}}, {{backend: fake-keyed, model: echo}}]
  - id: failover-after-first-byte
    policy: first-route  # these tests are about the order of attempts
    routes:
      - {{backend: fake, model: "echo?drop_after=2&tokens=10"}}
      - {{backend: fake-keyed, model: echo}}
  - id: chat-two
    policy: first-route  # these tests are about the order of attempts
    routes:
      - {{backend: fake, model: echo, cost: {{prompt: 2.0, completion: 2.0}}}}
      - {{backend: fake-keyed, model: echo, cost: {{prompt: 1.0, completion: 1.0}}}}
  - id: breaker
    policy: first-route  # these tests are about the order of attempts
    routes: [{{backend: flaky, model: "echo?status=500"}}, {{backend: fake-keyed, model: echo}}]
  - {{id: breaker-alone, routes: [{{backend: flaky, model: echo}}]}}
  - {{id: breaker-slow, routes: [{{backend: flaky, model: "echo?tokens=30&token_ms=100"}}]}}
  - id: vision-where-possible
    policy: first-route  # these tests are about the order of attempts
    routes:
      - {{backend: fake, model: echo, supports_vision: false}}
      - {{backend: fake-keyed, model: echo}}
  - {{id: text-only, routes: [{{backend: fake, model: echo, supports_vision: false}}]}}
  - {{id: tiny-context, context_length: 40, routes: [{{backend: fake, model: echo}}]}}
  - id: all-down
    policy: first-route  # these tests are about the order of attempts
    routes: [{{backend: nowhere, model: echo}}, {{backend: fake, model: "echo?status=502"}}]
  - id: claude-haiku
    routes:
      - backend: claude
        model: claude-3-5-haiku-latest
        cost: {{prompt: 0.8, completion: 4.0}}
  - {{id: claude-limited, routes: [{{backend: claude, model: "claude?status=429"}}]}}
"""


@dataclass
class Gateway:
    process: ServerProcess
    url: str
    key: str
    fake_openai: ServerProcess
    fake_anthropic: ServerProcess
    database_dsn: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="session")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    workdir = tmp_path_factory.mktemp("gateway")
    fake_openai = start_fake_openai(workdir)
    fake_anthropic = start_fake_anthropic(workdir, ANTHROPIC_KEY)
    database = await create_database("hi_api")
    config = workdir / "config.yaml"
    config.write_text(
        CONFIG.format(fake=fake_openai.url, anthropic=fake_anthropic.url, dead_port=free_port())
    )
    env = gateway_env(
        postgres_url(database),
        workdir,
        HI_REQUEST_TIMEOUT_S=str(REQUEST_TIMEOUT_S),
        HI_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
        FAKE_ANTHROPIC_KEY=ANTHROPIC_KEY,
        FAKE_OPENAI_KEY=OPENAI_BACKEND_KEY,
        HI_ADMIN_KEY=ADMIN_KEY,
    )
    key = create_key(env)
    process = start_gateway(config, env, workdir / "gateway.log")
    yield Gateway(
        process,
        process.url,
        key,
        fake_openai,
        fake_anthropic,
        f"postgresql://postgres@127.0.0.1:5432/{database}",
    )
    process.stop()
    fake_openai.stop()
    fake_anthropic.stop()
    await drop_database(database)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=gateway.key, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def async_client(gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=f"{gateway.url}/v1", api_key=gateway.key, max_retries=0
    ) as sdk:
        yield sdk


async def ledger_row(gateway: Gateway, request_id: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The ledger row of one request, once the writer has flushed it."""
    connection = await asyncpg.connect(gateway.database_dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            row = await connection.fetchrow("SELECT * FROM ledger WHERE id = $1", request_id)
            if row is not None:
                return dict(row)
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError(f"no ledger row for {request_id} after {timeout_s} s")


async def ledger_rows_since(gateway: Gateway, since: float) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(gateway.database_dsn)
    try:
        rows = await connection.fetch(
            "SELECT * FROM ledger WHERE started_at >= to_timestamp($1) ORDER BY started_at", since
        )
    finally:
        await connection.close()
    return [dict(r) for r in rows]


async def start_raw_stream(
    gateway: Gateway, model: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A streamed chat request written by hand on a socket the test can drop at any moment."""
    reader, writer = await asyncio.open_connection("127.0.0.1", int(gateway.url.rsplit(":", 1)[1]))
    body = orjson.dumps(
        {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    )
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
        + f"Authorization: Bearer {gateway.key}\r\n".encode()
        + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    return reader, writer
