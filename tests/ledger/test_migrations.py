"""The alembic migrations build the schema the gateway uses, and take it down again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from router.db import create_engine, downgrade, migrate

API_KEYS_COLUMNS = {"id", "name", "key_hash", "created_at", "revoked_at"}
LEDGER_COLUMNS = {
    "id",
    "key_id",
    "model",
    "backend",
    "upstream_model",
    "attempts",
    "attempt_log",
    "prompt_tokens",
    "completion_tokens",
    "tokens_counted_locally",
    "cost_usd",
    "ttft_ms",
    "latency_ms",
    "status",
    "error_code",
    "streamed",
    "client_disconnected",
    "started_at",
    "finished_at",
}
LEDGER_NULLABLE = {
    "key_id",
    "model",
    "backend",
    "upstream_model",
    "attempt_log",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "ttft_ms",
    "error_code",
}
SCHEMA_TABLES = {"api_keys", "ledger"}


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names: list[str] = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names)


async def columns_of(engine: AsyncEngine, table: str) -> dict[str, dict[str, Any]]:
    def reflect(connection: Connection) -> dict[str, dict[str, Any]]:
        return {column["name"]: dict(column) for column in inspect(connection).get_columns(table)}

    async with engine.connect() as connection:
        return await connection.run_sync(reflect)


async def index_names(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        indexes = await connection.run_sync(lambda c: inspect(c).get_indexes(table))
    return {index["name"] for index in indexes if index["name"]}


async def assert_schema_is_current(engine: AsyncEngine) -> None:
    assert await table_names(engine) >= SCHEMA_TABLES
    assert set(await columns_of(engine, "api_keys")) == API_KEYS_COLUMNS
    ledger = await columns_of(engine, "ledger")
    assert set(ledger) == LEDGER_COLUMNS
    assert {name for name, column in ledger.items() if column["nullable"]} == LEDGER_NULLABLE
    assert {"ix_ledger_started_at", "ix_ledger_key_started"} <= await index_names(engine, "ledger")


async def test_upgrade_to_head_creates_the_keys_and_ledger_tables(
    blank_engine: AsyncEngine,
) -> None:
    assert not SCHEMA_TABLES & await table_names(blank_engine)

    await migrate(blank_engine)

    await assert_schema_is_current(blank_engine)


async def test_timestamps_are_stored_with_their_time_zone_on_postgres(
    postgres_database_url: str,
) -> None:
    engine = create_engine(postgres_database_url)
    try:
        await migrate(engine)
        for table, names in (
            ("api_keys", ("created_at", "revoked_at")),
            ("ledger", ("started_at", "finished_at")),
        ):
            columns = await columns_of(engine, table)
            assert all(columns[name]["type"].timezone for name in names), table
    finally:
        await engine.dispose()


async def test_downgrade_to_base_removes_the_tables(blank_engine: AsyncEngine) -> None:
    await migrate(blank_engine)

    await downgrade(blank_engine, "base")

    assert not SCHEMA_TABLES & await table_names(blank_engine)


async def test_upgrade_down_and_up_again_rebuilds_the_same_schema(
    blank_engine: AsyncEngine,
) -> None:
    await migrate(blank_engine)
    await downgrade(blank_engine, "base")

    await migrate(blank_engine)

    await assert_schema_is_current(blank_engine)


async def test_upgrading_a_current_database_changes_nothing(blank_engine: AsyncEngine) -> None:
    await migrate(blank_engine)

    await migrate(blank_engine)

    await assert_schema_is_current(blank_engine)
