"""Assembly and lifecycle: the aiohttp application, its resources, and serving with a drain."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from router.api.admin import list_backends
from router.api.chat import create_chat_completion
from router.api.errors import error_middleware
from router.api.health import health
from router.api.models import CATALOGUE, catalogue_body, list_models
from router.api.openapi import OPENAPI_DOCUMENT, openapi_body, openapi_document
from router.auth import KeyRing
from router.backends import build_backends
from router.config import GatewayConfig
from router.db import active_keys, create_engine, migrate
from router.dispatch import Dispatcher
from router.key_cache import load_key_cache, save_key_cache
from router.ledger import LedgerWriter
from router.settings import Settings
from router.state import CONFIG, DISPATCHER, ENGINE, KEYRING, LEDGER, LIFECYCLE, SETTINGS, Lifecycle
from router.upstream import UpstreamPool

log = logging.getLogger(__name__)

API_PREFIXES = ("/v1", "/api/v1")
GC_GEN0_THRESHOLD = 50_000


def build_app(settings: Settings, config: GatewayConfig) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[CONFIG] = config
    app[LIFECYCLE] = Lifecycle()
    app[KEYRING] = KeyRing()
    app[CATALOGUE] = catalogue_body(config)
    app[OPENAPI_DOCUMENT] = openapi_body(API_PREFIXES)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_ledger)
    app.cleanup_ctx.append(_backends)
    for prefix in API_PREFIXES:
        app.router.add_post(f"{prefix}/chat/completions", create_chat_completion)
        app.router.add_get(f"{prefix}/models", list_models)
    app.router.add_get("/health", health)
    app.router.add_get("/admin/v1/backends", list_backends)
    app.router.add_get("/openapi.json", openapi_document)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    """The engine, the schema, and the keys, kept fresh; none of it may stop the gateway."""
    settings = app[SETTINGS]
    engine = create_engine(settings.database_url)
    app[ENGINE] = engine
    keyring = app[KEYRING]
    cache = settings.key_cache_path
    is_migrated = await _try(migrate(engine), "migrating the database")
    if not (is_migrated and await _try(_load_keys(engine, keyring, cache), "loading API keys")):
        cached = load_key_cache(cache)
        keyring.replace(cached)
        log.warning("serving %d API keys from %s until the database answers", len(cached), cache)

    async def refresh() -> None:
        nonlocal is_migrated
        while True:
            await asyncio.sleep(settings.key_refresh_s)
            if not is_migrated:
                is_migrated = await _try(migrate(engine), "migrating the database")
            if is_migrated:
                await _try(_load_keys(engine, keyring, cache), "refreshing API keys", quiet=True)

    refresher = asyncio.create_task(refresh(), name="key-refresher")
    yield
    refresher.cancel()
    await asyncio.gather(refresher, return_exceptions=True)
    await engine.dispose()


async def _load_keys(engine: AsyncEngine, keyring: KeyRing, cache: Path) -> None:
    keys = await active_keys(engine)
    if {k.key_hash for k in keys} != keyring.hashes():
        await asyncio.to_thread(save_key_cache, cache, keys)
    keyring.replace(keys)


async def _try(step: Awaitable[None], what: str, quiet: bool = False) -> bool:
    try:
        await step
    except Exception as exc:
        if not quiet:
            log.error("%s failed, serving from memory and retrying: %s", what, exc)
        return False
    return True


async def _ledger(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    writer = LedgerWriter(
        app[ENGINE],
        flush_interval_s=settings.ledger_flush_interval_s,
        batch_rows=settings.ledger_batch_rows,
        max_buffered_rows=settings.ledger_max_buffered_rows,
        spill_path=settings.ledger_spill_path,
    )
    app[LEDGER] = writer
    writer.start()
    yield
    await writer.close()


async def _backends(app: web.Application) -> AsyncIterator[None]:
    pool = UpstreamPool()
    backends = build_backends(app[CONFIG], pool)
    if any(b.type == "litellm" for b in app[CONFIG].backends):
        # Importing litellm takes seconds; finish it before the port opens, so that readiness
        # means every backend can answer at once.
        from router.backends.litellm_backend import start_litellm_import

        await start_litellm_import()
    app[DISPATCHER] = Dispatcher(app[CONFIG], backends)
    yield
    for backend in backends.values():
        await backend.close()
    await pool.close()


def _tune_gc() -> None:
    """Keep the cyclic collector off the hot path.

    Requests allocate many short-lived containers that reference counting frees anyway; the
    default gen-0 threshold (700) runs the collector every few requests. Objects that exist once
    start-up is done (modules, config, pools) are frozen out of every later collection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 50)


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then drain: refuse new connections, finish what is in
    flight within the grace period, flush the ledger, and return."""
    settings = app[SETTINGS]
    runner = web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        shutdown_timeout=settings.shutdown_grace_s,
    )
    await runner.setup()
    _tune_gc()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound = ", ".join(f"{s[0]}:{s[1]}" for s in runner.addresses)
    log.info("HybridInference listening on %s", bound)
    try:
        await stop.wait()
    finally:
        log.info("draining: finishing requests in flight (up to %.0f s)", settings.shutdown_grace_s)
        app[LIFECYCLE].is_draining = True
        await runner.cleanup()
        log.info("stopped")
