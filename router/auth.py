"""Client API keys: generated once, stored only as SHA-256 hashes, checked in memory.

Keys are 256-bit random tokens, so a fast hash is as strong as a slow one here and costs the hot
path nothing; the final comparison is constant-time all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from router.errors import AuthenticationFailed

KEY_PREFIX = "hi-"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    key_hash: str


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """The active keys, by hash; replaced wholesale when refreshed from the database."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._by_hash = {k.key_hash: k for k in keys}

    def __len__(self) -> int:
        return len(self._by_hash)

    def hashes(self) -> set[str]:
        return set(self._by_hash)

    def replace(self, keys: Iterable[ApiKey]) -> None:
        self._by_hash = {k.key_hash: k for k in keys}

    def add(self, key: ApiKey) -> None:
        self._by_hash = {**self._by_hash, key.key_hash: key}

    def authenticate(self, authorization: str | None) -> ApiKey:
        """The key behind an `Authorization: Bearer ...` header, or `AuthenticationFailed`."""
        if not authorization:
            raise AuthenticationFailed(
                "Missing API key: send it as 'Authorization: Bearer YOUR_API_KEY'",
                code="missing_api_key",
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed(
                "Malformed Authorization header: expected 'Bearer YOUR_API_KEY'"
            )
        digest = hash_key(token)
        found = self._by_hash.get(digest)
        if found is None or not hmac.compare_digest(found.key_hash, digest):
            raise AuthenticationFailed("Invalid API key provided")
        return found
