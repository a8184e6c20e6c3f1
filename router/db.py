"""The database: engine creation, schema migrations and the key store's queries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from router.auth import ApiKey, generate_key, hash_key
from router.tables import ApiKeyRow

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        return create_async_engine(url, connect_args={"timeout": 30})
    # pool_pre_ping turns a connection killed by a database restart into a reconnect.
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_on, engine.url.render_as_string(False), revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade_on, engine.url.render_as_string(False), revision)


async def create_key(engine: AsyncEngine, name: str) -> tuple[ApiKey, str]:
    """A new key: its record, and the secret itself, which is shown once and never stored."""
    secret = generate_key()
    key_hash = hash_key(secret)
    async with engine.begin() as connection:
        result = await connection.execute(
            insert(ApiKeyRow).values(name=name, key_hash=key_hash, created_at=datetime.now(UTC))
        )
        key_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
    return ApiKey(id=int(key_id), name=name, key_hash=key_hash), secret


async def revoke_key(engine: AsyncEngine, key_id: int) -> bool:
    async with engine.begin() as connection:
        result = await connection.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return bool(result.rowcount)


async def active_keys(engine: AsyncEngine) -> list[ApiKey]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(ApiKeyRow.id, ApiKeyRow.name, ApiKeyRow.key_hash).where(
                ApiKeyRow.revoked_at.is_(None)
            )
        )
        return [ApiKey(id=r.id, name=r.name, key_hash=r.key_hash) for r in rows]
