"""Ledger writers started by a test and closed at its end, whatever the test left them doing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from router.ledger.writer import LedgerWriter

FAST_FLUSH_INTERVAL_S = 0.05


class RunningWriters:
    def __init__(self, default_spill_path: Path) -> None:
        self.default_spill_path = default_spill_path
        self._writers: list[LedgerWriter] = []

    def start(
        self,
        engine: AsyncEngine,
        *,
        flush_interval_s: float = FAST_FLUSH_INTERVAL_S,
        batch_rows: int = 100,
        max_buffered_rows: int = 10_000,
        spill_path: Path | None = None,
    ) -> LedgerWriter:
        writer = LedgerWriter(
            engine,
            flush_interval_s=flush_interval_s,
            batch_rows=batch_rows,
            max_buffered_rows=max_buffered_rows,
            spill_path=spill_path or self.default_spill_path,
        )
        writer.start()
        self._writers.append(writer)
        return writer

    async def close_all(self) -> None:
        for writer in self._writers:
            await writer.close(timeout_s=2.0)
        self._writers.clear()
