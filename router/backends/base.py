"""The backend interface: send an OpenAI-shaped chat request, get an OpenAI-shaped answer.

Every backend speaks OpenAI's chat format on both sides, whatever it translates to underneath,
and reports failures as `router.errors.BackendError` subclasses.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

ChatResponse = dict[str, Any]
ChatChunk = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamBatch:
    """Stream chunks that arrived together; `is_final` once the backend said it is done, so the
    last chunks and the end of the stream can reach the client in one write."""

    chunks: list[ChatChunk]
    is_final: bool = False


MAX_UPSTREAM_MESSAGE_CHARS = 500


class Backend(Protocol):
    name: str

    async def complete(self, body: dict[str, Any], deadline: float) -> ChatResponse:
        """A non-streaming chat completion; `body` already names the upstream model. Nothing
        waits past `deadline` (event-loop time): the backend raises BackendTimeout instead."""
        ...

    def stream(self, body: dict[str, Any], deadline: float) -> AsyncGenerator[StreamBatch, None]:
        """A streaming chat completion: parsed chunks as soon as they arrive, in batches."""
        ...

    async def close(self) -> None: ...


def redact(text: str, secrets: Iterable[str]) -> str:
    """An upstream message made safe to show a client: no credentials, bounded length."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = re.sub(
        r"(?i)(bearer\s+|api[_-]?key[\"'=:\s]+)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text
    )
    if len(text) > MAX_UPSTREAM_MESSAGE_CHARS:
        text = text[:MAX_UPSTREAM_MESSAGE_CHARS] + "…"
    return text
