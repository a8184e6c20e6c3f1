"""Alembic migrations of the gateway's database (SQLite and PostgreSQL)."""
