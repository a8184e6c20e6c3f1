"""Real databases for the ledger tests: a SQLite file per test, or a fresh Postgres database.

Each Postgres database gets a random name and is dropped at teardown, after terminating any
connection a test left open, so tests never see each other's rows.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from router.db import create_engine, migrate
from tests.ledger.writers import RunningWriters

POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
POSTGRES_URL_TEMPLATE = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


@pytest.fixture
async def postgres_database_url() -> AsyncIterator[str]:
    """A new, empty Postgres database, dropped after the test."""
    name = f"ledger_test_{secrets.token_hex(6)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield POSTGRES_URL_TEMPLATE.format(name=name)
        async with admin.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        await admin.dispose()


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend the gateway supports."""
    url: str = request.getfixturevalue(f"{request.param}_database_url")
    return url


@pytest.fixture
async def blank_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database: no migration has run."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(blank_engine: AsyncEngine) -> AsyncEngine:
    """An engine on a database migrated to the newest schema."""
    await migrate(blank_engine)
    return blank_engine


@pytest.fixture
async def writers(tmp_path: Path) -> AsyncIterator[RunningWriters]:
    """Start ledger writers with `writers.start(engine, ...)`; all are closed at teardown."""
    running = RunningWriters(default_spill_path=tmp_path / "spill" / "ledger.jsonl")
    yield running
    await running.close_all()
