"""Reading the ledger table back, straight from the database, to check what the writer did."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from router.tables import LedgerRow
from tests.support.eventually import eventually


async def ledger_ids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(LedgerRow.id))).scalars())


async def ledger_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(LedgerRow))
    return int(count or 0)


async def ledger_rows(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(select(LedgerRow.__table__))
        return {row["id"]: dict(row) for row in result.mappings()}


async def wait_for_ledger_ids(
    engine: AsyncEngine, expected: Collection[str], *, timeout_s: float = 10.0
) -> None:
    """Wait until the ledger holds exactly `expected`, each id once."""

    async def holds_expected() -> bool:
        ids = await ledger_ids(engine)
        return len(ids) == len(expected) and set(ids) == set(expected)

    await eventually(holds_expected, timeout_s=timeout_s, message=f"{len(expected)} ledger rows")


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime; SQLite keeps no offset, only UTC wall time."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def spilled_ids(path: Path) -> list[str]:
    """Ids of the rows in a spill file, one JSON object per line."""
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]
