"""API keys: only SHA-256 hashes are kept; `Authorization: Bearer KEY` finds the key or fails."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.auth import KEY_PREFIX, ApiKey, KeyRing, generate_key, hash_key
from router.errors import AuthenticationFailed

ALICE = "hi-alice-secret"
BOB = "hi-bob-secret"


def api_key(id_: int, name: str, plaintext: str) -> ApiKey:
    return ApiKey(id=id_, name=name, key_hash=hash_key(plaintext))


def ring() -> KeyRing:
    return KeyRing([api_key(1, "alice", ALICE), api_key(2, "bob", BOB)])


def failure(keys: KeyRing, header: str | None) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as caught:
        keys.authenticate(header)
    return caught.value


def test_right_key_returns_its_api_key() -> None:
    found = ring().authenticate(f"Bearer {BOB}")
    assert (found.id, found.name) == (2, "bob")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    assert ring().authenticate(f"{scheme} {ALICE}").id == 1


def test_whitespace_around_the_token_is_ignored() -> None:
    assert ring().authenticate(f"Bearer   {ALICE}  ").id == 1


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_fails_with_missing_api_key(header: str | None) -> None:
    error = failure(ring(), header)
    assert error.code == "missing_api_key"
    assert error.status == 401
    assert "Bearer" in error.message


@pytest.mark.parametrize(
    "header",
    [
        ALICE,
        f"Basic {ALICE}",
        f"Token {ALICE}",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        " ",
        f"Bearer\t{ALICE}",
    ],
)
def test_malformed_scheme_fails_as_malformed(header: str) -> None:
    error = failure(ring(), header)
    assert error.code == "invalid_api_key"
    assert error.message.startswith("Malformed Authorization header")


@pytest.mark.parametrize(
    "token", ["hi-mallory", ALICE.upper(), ALICE + "x", ALICE[:-1], hash_key(ALICE)]
)
def test_wrong_key_fails_as_invalid(token: str) -> None:
    error = failure(ring(), f"Bearer {token}")
    assert error.code == "invalid_api_key"
    assert error.status == 401
    assert error.message == "Invalid API key provided"


def test_empty_ring_rejects_every_key() -> None:
    assert failure(KeyRing(), f"Bearer {ALICE}").message == "Invalid API key provided"


def test_replace_drops_the_old_keys() -> None:
    keys = ring()
    keys.replace([api_key(3, "carol", "hi-carol")])
    assert len(keys) == 1
    assert keys.authenticate("Bearer hi-carol").id == 3
    for old in (ALICE, BOB):
        assert failure(keys, f"Bearer {old}").message == "Invalid API key provided"


def test_add_keeps_the_existing_keys() -> None:
    keys = ring()
    keys.add(api_key(3, "carol", "hi-carol"))
    assert len(keys) == 3
    assert keys.authenticate(f"Bearer {ALICE}").id == 1
    assert keys.authenticate("Bearer hi-carol").id == 3


def test_ring_counts_keys_by_distinct_hash() -> None:
    assert len(KeyRing([api_key(1, "a", ALICE), api_key(9, "a-again", ALICE)])) == 1


@given(st.text())
def test_hash_key_is_sha256_hex_of_the_utf8_key(key: str) -> None:
    digest = hash_key(key)
    assert digest == hashlib.sha256(key.encode("utf-8")).hexdigest()
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


def test_hash_key_matches_a_known_sha256_vector() -> None:
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_api_key_never_holds_the_plaintext() -> None:
    key = generate_key()
    stored = api_key(1, "alice", key)
    assert all(key not in str(value) for value in dataclasses.astuple(stored))
    assert key not in repr(stored)


def test_generated_keys_are_prefixed_random_and_long() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(k.startswith(KEY_PREFIX) and len(k) >= len(KEY_PREFIX) + 43 for k in keys)


def test_a_generated_key_authenticates_once_its_hash_is_added() -> None:
    key = generate_key()
    keys = KeyRing()
    keys.add(api_key(7, "new", key))
    assert keys.authenticate(f"Bearer {key}").id == 7
