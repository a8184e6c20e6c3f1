"""An append-only JSON-lines file holding ledger rows the database could not take in time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

_TIMESTAMPS = ("started_at", "finished_at")


class SpillFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab+") as out:
            # A crash mid-write leaves a torn last line; start on a fresh one so that only
            # the torn row is lost, not the first row written after it.
            prefix = b""
            if out.tell() > 0:
                out.seek(-1, 2)
                if out.read(1) != b"\n":
                    prefix = b"\n"
            out.write(prefix + b"".join(orjson.dumps(row) + b"\n" for row in rows))
            out.flush()

    def has_rows(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        """Rows in file order; a torn last line (a crash mid-write) is skipped."""
        batch: list[dict[str, Any]] = []
        with self.path.open("rb") as spilled:
            for line in spilled:
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                for name in _TIMESTAMPS:
                    row[name] = datetime.fromisoformat(row[name])
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
