"""API keys: the secret is handed out once and only its SHA-256 hash is kept."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from router.auth import ApiKey
from router.db import active_keys, create_key, revoke_key
from router.tables import ApiKeyRow


async def stored_key_rows(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        result = await connection.execute(select(ApiKeyRow.__table__))
        return [dict(row) for row in result.mappings()]


async def test_create_key_stores_only_the_hash_of_the_secret(engine: AsyncEngine) -> None:
    key, secret = await create_key(engine, "ci")

    assert secret.startswith("hi-")
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    [row] = await stored_key_rows(engine)
    assert row["id"] == key.id
    assert row["name"] == "ci"
    assert row["key_hash"] == key.key_hash
    assert row["created_at"] is not None
    assert row["revoked_at"] is None
    assert not any(secret in str(value) for value in row.values())


async def test_every_key_gets_its_own_secret_and_id(engine: AsyncEngine) -> None:
    first, first_secret = await create_key(engine, "alice")
    second, second_secret = await create_key(engine, "bob")

    assert first_secret != second_secret
    assert first.id != second.id
    assert first.key_hash != second.key_hash


async def test_active_keys_lists_created_keys(engine: AsyncEngine) -> None:
    alice, _ = await create_key(engine, "alice")
    bob, _ = await create_key(engine, "bob")

    keys = await active_keys(engine)

    assert sorted(keys, key=lambda k: k.id) == [alice, bob]
    assert all(isinstance(key, ApiKey) for key in keys)


async def test_revoked_key_is_no_longer_active(engine: AsyncEngine) -> None:
    alice, _ = await create_key(engine, "alice")
    bob, _ = await create_key(engine, "bob")

    assert await revoke_key(engine, alice.id) is True

    assert await active_keys(engine) == [bob]
    revoked = next(row for row in await stored_key_rows(engine) if row["id"] == alice.id)
    assert revoked["revoked_at"] is not None


async def test_revoking_twice_or_an_unknown_key_reports_nothing_revoked(
    engine: AsyncEngine,
) -> None:
    key, _ = await create_key(engine, "ci")
    await revoke_key(engine, key.id)

    assert await revoke_key(engine, key.id) is False
    assert await revoke_key(engine, key.id + 1000) is False
