"""SIGTERM drains: no new connections, streams in flight finish, the ledger is flushed, exit 0."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import (
    ServerProcess,
    create_key,
    gateway_env,
    start_fake_openai,
    start_gateway,
)

CONFIG = """\
backends: [{{name: fake, type: openai, base_url: "{fake}/v1"}}]
models:
  - {{id: slow, routes: [{{backend: fake, model: "echo?tokens=20&token_ms=100"}}]}}
"""


@pytest.fixture
def fake(tmp_path: Path) -> ServerProcess:
    process = start_fake_openai(tmp_path)
    yield process  # type: ignore[misc]
    process.stop()


def test_sigterm_lets_a_stream_in_flight_finish_then_exits_cleanly(
    tmp_path: Path, fake: ServerProcess
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(fake=fake.url))
    database = tmp_path / "drain.db"
    env = gateway_env(
        f"sqlite+aiosqlite:///{database}",
        tmp_path,
        HI_LEDGER_FLUSH_INTERVAL_S="30",
        HI_SHUTDOWN_GRACE_S="20",
    )
    key = create_key(env)
    gateway = start_gateway(config, env, tmp_path / "gateway.log")
    port = int(gateway.url.rsplit(":", 1)[1])
    events: list[str] = []
    first_event = threading.Event()

    def stream() -> None:
        with httpx.stream(
            "POST",
            f"{gateway.url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "slow", "messages": [{"role": "user", "content": "hi"}], "stream": True},
            timeout=30,
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
                    first_event.set()

    reader = threading.Thread(target=stream)
    reader.start()
    assert first_event.wait(10)
    gateway.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    reader.join(30)
    assert events[-1] == "[DONE]", "the stream in flight ran to its end"
    assert len(events) >= 22
    assert gateway.process.wait(30) == 0
    # The flush interval is 30 s: the row is there because shutdown flushed it.
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT status, streamed FROM ledger").fetchall()
    assert rows == [(200, 1)]
    assert "draining" in gateway.log()
