"""The `hybridinference` command: serve, migrate, keys, and a self-contained demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from router.config import ConfigError, load_config
from router.settings import Settings

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "demo.yaml"


def _run(main: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency everywhere it builds
        return asyncio.run(main)
    return uvloop.run(main)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level.upper() != "DEBUG":
        # alembic narrates every plugin and migration step at INFO.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    config = load_config(args.config)
    from router.app import build_app, serve

    app = build_app(settings, config)
    _run(serve(app, args.host or settings.host, settings.port if args.port is None else args.port))
    return 0


async def _migrate(settings: Settings) -> None:
    from router.db import create_engine, migrate

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _create_key(settings: Settings, name: str) -> str:
    from router.db import create_engine, create_key, migrate

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        key, secret = await create_key(engine, name)
    finally:
        await engine.dispose()
    print(f"created key {key.id} ({key.name}); it is shown only once:")
    return secret


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    """The fake upstream on port 8001, a fresh key, and the gateway, ready for a curl."""
    from router.app import build_app, serve

    upstream = subprocess.Popen(
        [sys.executable, "-m", "router.fakes.openai_upstream", "--port", "8001"],
    )
    try:
        _wait_for("http://127.0.0.1:8001/health")
        secret = _run(_create_key(settings, "demo"))
        port = settings.port if args.port is None else args.port
        print(
            "\nHybridInference demo: try\n\n"
            f"  curl -s http://127.0.0.1:{port}/v1/chat/completions \\\n"
            f"    -H 'Authorization: Bearer {secret}' -H 'Content-Type: application/json' \\\n"
            '    -d \'{"model": "demo-chat", "messages": '
            '[{"role": "user", "content": "Hello!"}]}\'\n',
            flush=True,
        )
        _run(serve(build_app(settings, load_config(DEMO_CONFIG)), settings.host, port))
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    return 0


def _wait_for(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybridinference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", required=True, help="the YAML configuration")
    serve.add_argument("--host", default=None, help="address to bind (default: HI_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port to bind (default: HI_PORT)")
    commands.add_parser("migrate", help="upgrade the database schema")
    keys = commands.add_parser("keys", help="manage client API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key; prints it on the last line")
    create.add_argument("--name", required=True)
    demo = commands.add_parser("demo", help="a gateway in front of a fake upstream, with a key")
    demo.add_argument("--port", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    _configure_logging(settings)
    try:
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "demo":
            return _demo(args, settings)
        if args.command == "migrate":
            _run(_migrate(settings))
            print("database is up to date")
            return 0
        if args.command == "keys":
            print(_run(_create_key(settings, args.name)))
            return 0
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # a clear line, never a traceback, for operator mistakes
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 2
