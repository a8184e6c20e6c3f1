"""A gateway with only OpenAI-compatible backends never loads litellm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.servers import ROOT

PROBE = """
import asyncio, sys
from aiohttp import web
from router.app import build_app
from router.config import load_config
from router.settings import Settings

async def main():
    app = build_app(Settings(database_url="sqlite+aiosqlite:///{db}"), load_config("{config}"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await runner.cleanup()
    print("litellm loaded:", "litellm" in sys.modules)

asyncio.run(main())
"""


def probe(tmp_path: Path, config: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    script = PROBE.format(db=tmp_path / "probe.db", config=path)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_openai_backends_alone_never_import_litellm(tmp_path: Path) -> None:
    config = (
        "backends: [{name: gpu, type: openai, base_url: 'http://127.0.0.1:9/v1'}]\n"
        "models: [{id: m, routes: [{backend: gpu, model: x}]}]\n"
    )
    assert probe(tmp_path, config) == "litellm loaded: False"


def test_a_litellm_backend_loads_it_before_serving(tmp_path: Path) -> None:
    config = (
        "backends: [{name: c, type: litellm, provider: anthropic}]\n"
        "models: [{id: m, routes: [{backend: c, model: claude}]}]\n"
    )
    assert probe(tmp_path, config) == "litellm loaded: True"
