"""The local key cache: hashes round-trip, only the owner can read it, damage means no keys."""

from __future__ import annotations

import stat
from pathlib import Path

from router.auth import ApiKey, hash_key
from router.key_cache import load_key_cache, save_key_cache

KEYS = [ApiKey(1, "alice", hash_key("hi-a")), ApiKey(2, "bob", hash_key("hi-b"))]


def test_saved_keys_load_back(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    save_key_cache(path, KEYS)
    assert load_key_cache(path) == KEYS


def test_the_cache_holds_hashes_only_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    save_key_cache(path, KEYS)
    assert "hi-a" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_replaces_the_previous_cache(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    save_key_cache(path, KEYS)
    save_key_cache(path, KEYS[:1])
    assert load_key_cache(path) == KEYS[:1]
    assert list(tmp_path.iterdir()) == [path], "no temporary file left behind"


def test_a_missing_or_damaged_cache_gives_no_keys(tmp_path: Path) -> None:
    assert load_key_cache(tmp_path / "absent.json") == []
    damaged = tmp_path / "damaged.json"
    damaged.write_text('[{"id": 1, "name": "x"')
    assert load_key_cache(damaged) == []
    wrong_shape = tmp_path / "wrong.json"
    wrong_shape.write_text('[{"id": 1}]')
    assert load_key_cache(wrong_shape) == []
