"""The command line: clear one-line errors, keys printed alone, migrations on demand."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import BIN, ROOT


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run(
        [str(BIN / "hybridinference"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            "backends: [{name: a, type: openai, base_url: 'http://x/v1'}]\n"
            "models: [{id: m, routes: [{backend: b, model: x}]}]\n",
            "models[0].routes[0].backend",
        ),
        (
            "backends: [{name: a, type: openai, base_url: 'nope'}]\n"
            "models: [{id: m, routes: [{backend: a, model: x}]}]\n",
            "backends[0].base_url",
        ),
        (
            "backends: [{name: a, type: openai, base_url: 'http://x/v1'}]\n"
            "models: [{id: m, routes: [{backend: a, model: x}]}, "
            "{id: m, routes: [{backend: a, model: y}]}]\n",
            "models[1].id",
        ),
    ],
)
def test_a_bad_config_stops_start_up_with_one_line(tmp_path: Path, config: str, field: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(config)
    done = run(["serve", "--config", str(path), "--port", "0"], tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert field in lines[0]
    assert "Traceback" not in done.stderr


def test_keys_create_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    first = run(["keys", "create", "--name", "alice"], tmp_path)
    second = run(["keys", "create", "--name", "bob"], tmp_path)
    assert first.returncode == second.returncode == 0
    keys = [done.stdout.rstrip("\n").splitlines()[-1] for done in (first, second)]
    assert all(k.startswith("hi-") and " " not in k and len(k) > 40 for k in keys)
    assert keys[0] != keys[1]
    with sqlite3.connect(tmp_path / "cli.db") as db:
        stored = db.execute("SELECT name, key_hash FROM api_keys ORDER BY id").fetchall()
    assert [name for name, _ in stored] == ["alice", "bob"]
    assert all(key not in str(stored) for key in keys), "only hashes are stored"


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    done = run(["migrate"], tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "cli.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"api_keys", "ledger", "alembic_version"} <= tables
