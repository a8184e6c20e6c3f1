"""The processes a gateway benchmark measures: the canned upstream, and one gateway with its ledger
on SQLite in a temporary directory and a fresh API key, plus their CPU accounting from /proc.

Each runs in its own session, so a terminal's Ctrl-C reaches only the benchmark, which then stops
them in order (gateway first, so it drains and flushes its ledger) from an `ExitStack`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Servers:
    upstream_url: str
    gateway_url: str
    api_key: str
    upstream_pid: int
    gateway_pid: int
    ledger_path: Path
    stop_gateway: Callable[[], None]
    """Drains the gateway now, which writes every ledger row it holds; safe to call twice."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all threads (0 where /proc is unavailable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def cpu_wait_seconds(pid: int) -> float:
    """Time the main thread spent runnable but not running (0 where /proc is unavailable)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def hybridinference_command() -> list[str]:
    script = Path(sys.executable).with_name("hybridinference")
    return [str(script)] if script.exists() else [sys.executable, "-m", "router"]


@contextmanager
def running(command: list[str], name: str, log: Path, env: dict[str, str]) -> Iterator[int]:
    """A child process in its own session; on exit SIGTERM, then SIGKILL if it lingers."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield process.pid
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print(
                    f"{name} did not stop within {STOP_TIMEOUT_S:g} s; killing it", file=sys.stderr
                )
                process.kill()
                process.wait()


def wait_until_healthy(url: str, name: str, pid: int, log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if not Path(f"/proc/{pid}").exists() or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} did not become healthy at {url}; its log ends:\n{tail}")
        time.sleep(0.1)


def gateway_config(upstream_port: int, model_id: str) -> dict[str, object]:
    return {
        "backends": [
            {
                "name": "canned",
                "type": "openai",
                "base_url": f"http://127.0.0.1:{upstream_port}/v1",
                "max_concurrency": 4096,
            }
        ],
        "models": [{"id": model_id, "routes": [{"backend": "canned", "model": "canned"}]}],
    }


def start_servers(stack: ExitStack, workdir: Path, model_id: str) -> Servers:
    """The upstream, a key, and the gateway serving `model_id`; `stack` stops them."""
    ledger_path = workdir / "ledger.db"
    env = {
        **os.environ,
        "HI_DATABASE_URL": f"sqlite+aiosqlite:///{ledger_path}",
        "HI_LEDGER_SPILL_PATH": str(workdir / "ledger-spill.jsonl"),
        "HI_KEY_CACHE_PATH": str(workdir / "keys.json"),
        "HI_LOG_LEVEL": "WARNING",
        "HI_SHUTDOWN_GRACE_S": "2",
    }
    upstream_port, gateway_port = free_port(), free_port()
    upstream_log, gateway_log = workdir / "upstream.log", workdir / "gateway.log"
    upstream_command = [sys.executable, str(BENCH_DIR / "canned_upstream.py")]
    upstream_pid = stack.enter_context(
        running([*upstream_command, "--port", str(upstream_port)], "upstream", upstream_log, env)
    )
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    wait_until_healthy(f"{upstream_url}/health", "upstream", upstream_pid, upstream_log)

    created = subprocess.run(
        [*hybridinference_command(), "keys", "create", "--name", "bench"],
        capture_output=True, text=True, env=env, cwd=workdir, check=True,
    )  # fmt: skip
    api_key = created.stdout.strip().splitlines()[-1]
    config = workdir / "gateway.yaml"
    config.write_text(json.dumps(gateway_config(upstream_port, model_id)))  # JSON is YAML

    gateway = stack.enter_context(ExitStack())
    gateway_command = [*hybridinference_command(), "serve", "--config", str(config)]
    gateway_pid = gateway.enter_context(
        running([*gateway_command, "--port", str(gateway_port)], "gateway", gateway_log, env)
    )
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    wait_until_healthy(f"{gateway_url}/health", "gateway", gateway_pid, gateway_log)
    return Servers(
        upstream_url, gateway_url, api_key, upstream_pid, gateway_pid, ledger_path, gateway.close
    )
