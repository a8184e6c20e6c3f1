"""Real processes on loopback ports for tests: the gateway, fake upstreams, model servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise TimeoutError(f"{url} did not come up in {timeout_s} s:\n{log_path.read_text()}")


def start_server(
    args: list[str],
    health_url: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout_s: float = 60.0,
) -> ServerProcess:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})}
        )
    wait_for_http(health_url, process, log_path, timeout_s)
    return ServerProcess(process, health_url.rsplit("/", 1)[0], log_path)


def start_fake_openai(log_dir: Path) -> ServerProcess:
    port = free_port()
    return start_server(
        [sys.executable, "-m", "router.fakes.openai_upstream", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        log_dir / f"fake-openai-{port}.log",
    )


def start_fake_anthropic(log_dir: Path, api_key: str) -> ServerProcess:
    port = free_port()
    return start_server(
        [
            sys.executable,
            "-m",
            "router.fakes.anthropic_upstream",
            "--port",
            str(port),
            "--api-key",
            api_key,
        ],
        f"http://127.0.0.1:{port}/health",
        log_dir / f"fake-anthropic-{port}.log",
    )


def gateway_env(database_url: str, workdir: Path, **overrides: str) -> dict[str, str]:
    env = {
        "HI_DATABASE_URL": database_url,
        "HI_LEDGER_FLUSH_INTERVAL_S": "0.05",
        "HI_KEY_REFRESH_S": "0.5",
        "HI_LEDGER_SPILL_PATH": str(workdir / "ledger-spill.jsonl"),
        "HI_KEY_CACHE_PATH": str(workdir / "keys.json"),
        "HI_LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


def create_key(env: dict[str, str], name: str = "tests") -> str:
    done = subprocess.run(
        [str(BIN / "hybridinference"), "keys", "create", "--name", name],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def start_gateway(config_path: Path, env: dict[str, str], log_path: Path) -> ServerProcess:
    port = free_port()
    return start_server(
        [str(BIN / "hybridinference"), "serve", "--config", str(config_path), "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        log_path,
        env,
    )


async def create_database(prefix: str) -> str:
    """A fresh PostgreSQL database; returns its name."""
    name = f"{prefix}_{os.getpid()}_{time.time_ns() % 10**12}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


def postgres_url(name: str, port: int = 5432) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{name}"
