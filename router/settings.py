"""Process settings from the environment (prefix `HI_`); the YAML config holds the routing table."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HI_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./hybridinference.db"
    admin_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    request_timeout_s: float = Field(default=600.0, gt=0)
    """One deadline for a whole request, streaming included, across every attempt."""
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    access_log: bool = False
    log_level: str = "INFO"

    key_refresh_s: float = Field(default=5.0, gt=0)
    """How often keys created elsewhere (CLI, other replicas) are picked up from the database."""
    key_cache_path: Path = Path("./hybridinference-keys.json")
    """Hashes of the active keys, used when the database is unreachable at start-up."""

    ledger_flush_interval_s: float = Field(default=0.5, gt=0)
    ledger_batch_rows: int = Field(default=1000, ge=1)
    ledger_max_buffered_rows: int = Field(default=100_000, ge=1)
    """Rows held in memory while the database is unreachable; the rest spill to a file."""
    ledger_spill_path: Path = Path("./ledger-spill.jsonl")
