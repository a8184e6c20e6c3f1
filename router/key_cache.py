"""A local copy of the active keys' hashes, so a gateway restarted while the database is down
still knows its clients. Written after each successful refresh; read only when the database
cannot be reached at start-up."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from router.auth import ApiKey


def save_key_cache(path: Path, keys: list[ApiKey]) -> None:
    """Atomically replace the cache (hashes only, readable by the owner alone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    rows = [{"id": k.id, "name": k.name, "key_hash": k.key_hash} for k in keys]
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(orjson.dumps(rows))
    os.replace(partial, path)


def load_key_cache(path: Path) -> list[ApiKey]:
    """The cached keys; none if the cache is missing or unreadable."""
    try:
        rows = orjson.loads(path.read_bytes())
        return [
            ApiKey(id=int(r["id"]), name=str(r["name"]), key_hash=str(r["key_hash"])) for r in rows
        ]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return []
