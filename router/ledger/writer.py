"""Writes ledger rows in batches from a background task; requests only append to a list.

When the database is unreachable rows wait in memory, up to a bound, and past it in a spill file;
both are written once it answers again, the (older) spilled rows first. Rows leave memory only
after the database has taken them, so a flush cancelled at any await loses nothing, and inserts
ignore rows already present, so a batch retried after an ambiguous failure is never duplicated.
On shutdown whatever cannot be written goes to the spill file, which the next start replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from router.ledger.insert import LedgerInsert
from router.ledger.record import RequestRecord
from router.ledger.spill import SpillFile

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 5.0
INSERT_TIMEOUT_S = 30.0


class LedgerWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        flush_interval_s: float,
        batch_rows: int,
        max_buffered_rows: int,
        spill_path: Path,
    ) -> None:
        self._insert_rows = LedgerInsert(engine)
        self._flush_interval_s = flush_interval_s
        self._batch_rows = batch_rows
        self._max_buffered_rows = max_buffered_rows
        self._spill = SpillFile(spill_path)
        self._rejected = SpillFile(spill_path.with_suffix(".rejected.jsonl"))
        self._records: list[RequestRecord] = []
        self._rows: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retry_delay_s = 0.0
        self._retry_at = 0.0
        self.rows_flushed = 0
        """Rows handed to the database, including duplicates it skipped."""
        self.is_database_reachable = True

    @property
    def backlog(self) -> int:
        """Rows not yet in the database, the spill file aside."""
        return len(self._records) + len(self._rows)

    def enqueue(self, record: RequestRecord) -> None:
        self._records.append(record)
        if len(self._records) >= self._batch_rows:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop, write what can be written within `timeout_s`, spill the rest."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._retry_at = 0.0
        try:
            async with asyncio.timeout(timeout_s):
                await self.flush()
        except TimeoutError:
            log.warning("ledger: database too slow at shutdown")
        remaining = self._take_rows_now()
        if remaining:
            self._spill.append(remaining)
            log.warning(
                "ledger: %d rows kept in %s until the database returns",
                len(remaining),
                self._spill.path,
            )

    def _take_rows_now(self) -> list[dict[str, Any]]:
        rows = list(self._rows) + [r.to_row() for r in self._records]
        self._rows.clear()
        self._records = []
        return rows

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # the writer must outlive any single bad batch
                log.exception("ledger: flush failed")

    async def flush(self) -> None:
        """Write everything pending now, unless the database is in its retry back-off."""
        if self._records:
            count = len(self._records)
            records = self._records[:count]
            if any(record.needs_token_count for record in records):
                # The tokenizer stays off the event loop. The records stay queued until their
                # rows exist, so a cancellation here leaves them for close() to spill.
                rows = await asyncio.to_thread(_rows_of, records)
            else:
                # A few µs a row: cheaper here than contending for the GIL from a thread.
                rows = _rows_of(records)
            self._rows.extend(rows)
            del self._records[:count]
        if time.monotonic() < self._retry_at:
            self._bound_memory()
            return
        if self._spill.has_rows() and not await self._replay_spill():
            self._bound_memory()
            return
        while self._rows:
            batch = list(itertools.islice(self._rows, self._batch_rows))
            if not await self._try_insert(batch):
                self._bound_memory()
                return
            for _ in batch:
                self._rows.popleft()

    async def _replay_spill(self) -> bool:
        for batch in self._spill.batches(self._batch_rows):
            if not await self._try_insert(batch):
                return False  # rows already inserted are skipped by the next replay
        self._spill.clear()
        log.info("ledger: spilled rows written")
        return True

    def _bound_memory(self) -> None:
        overflow = len(self._rows) - self._max_buffered_rows
        if overflow > 0:
            self._spill.append([self._rows.popleft() for _ in range(overflow)])

    async def _try_insert(self, rows: list[dict[str, Any]]) -> bool:
        try:
            async with asyncio.timeout(INSERT_TIMEOUT_S):
                await self._insert_rows(rows)
        except Exception as exc:
            if await self._insert_row_by_row(rows, exc):
                return True
            self._retry_delay_s = min(MAX_RETRY_DELAY_S, max(0.2, self._retry_delay_s * 2))
            self._retry_at = time.monotonic() + self._retry_delay_s
            if self.is_database_reachable:
                log.error("ledger: database unreachable, keeping rows: %s", _describe(exc))
            self.is_database_reachable = False
            return False
        if not self.is_database_reachable:
            log.info("ledger: database reachable again")
        self.is_database_reachable = True
        self._retry_delay_s = 0.0
        self.rows_flushed += len(rows)
        return True

    async def _insert_row_by_row(self, rows: list[dict[str, Any]], cause: Exception) -> bool:
        """After a failed batch: if the database answers, the batch itself was at fault, so
        rows go in one at a time and those it refuses are set aside, never blocking the rest.
        False when the database does not answer (an outage: keep the batch)."""
        try:
            async with asyncio.timeout(INSERT_TIMEOUT_S):
                await self._insert_rows.ping()
        except Exception:
            return False
        refused = []
        for row in rows:
            try:
                async with asyncio.timeout(INSERT_TIMEOUT_S):
                    await self._insert_rows([row])
            except Exception:
                refused.append(row)
        if refused:
            self._rejected.append(refused)
            log.error(
                "ledger: %d rows refused by the database (%s), kept in %s",
                len(refused),
                _describe(cause),
                self._rejected.path,
            )
        self.rows_flushed += len(rows) - len(refused)
        return True


def _rows_of(records: list[RequestRecord]) -> list[dict[str, Any]]:
    return [record.to_row() for record in records]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
