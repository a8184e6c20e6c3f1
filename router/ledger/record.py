"""What the gateway learns about one request while serving it, and the ledger row it becomes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from router.config import RouteCost
from router.pricing import estimate_cost
from router.tokens import count_prompt_tokens, count_text_tokens

MAX_NAME_CHARS = 200  # the ledger's model, backend and upstream_model columns


@dataclass(slots=True)
class RequestRecord:
    id: str
    started_at: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.perf_counter)
    key_id: int | None = None
    model: str | None = None
    backend: str | None = None
    upstream_model: str | None = None
    attempts: int = 0
    attempt_log: list[dict[str, Any]] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    status: int = 0
    error_code: str | None = None
    streamed: bool = False
    client_disconnected: bool = False
    finished_at: float = 0.0
    tokens_counted_locally: bool = False
    price: RouteCost | None = None
    # Kept only until the row is written, to count tokens when the backend reported none.
    prompt_messages: Any = None
    completion_parts: list[str] | None = None

    def begin_attempt(self, backend: str, upstream_model: str, price: RouteCost) -> None:
        self.backend = backend
        self.upstream_model = upstream_model
        self.price = price
        self.attempts += 1

    def end_attempt(self, status: int, error_code: str | None, started_monotonic: float) -> None:
        """Notes how the current attempt ended, for the row's attempt log."""
        entry = {
            "backend": self.backend,
            "upstream_model": self.upstream_model,
            "status": status,
            "error_code": error_code,
            "latency_ms": round((time.perf_counter() - started_monotonic) * 1000.0, 3),
        }
        if self.attempt_log is None:
            self.attempt_log = [entry]
        else:
            self.attempt_log.append(entry)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started_monotonic) * 1000.0

    def finish(self, status: int, error_code: str | None = None) -> None:
        self.status = status
        self.error_code = error_code
        self.latency_ms = self.elapsed_ms()
        self.finished_at = self.started_at + self.latency_ms / 1000.0

    @property
    def needs_token_count(self) -> bool:
        """Whether building the row runs the tokenizer (the backend reported no usage)."""
        return self.attempts > 0 and (self.prompt_tokens is None or self.completion_tokens is None)

    def to_row(self) -> dict[str, Any]:
        """The ledger row; counts tokens locally if needed, so call it off the request path."""
        # A backend did work if it answered, or streamed part of an answer before the client
        # left or the stream broke: those tokens were spent and are billed.
        served = self.attempts > 0 and (self.status < 400 or bool(self.completion_parts))
        if served and self.prompt_tokens is None and self.prompt_messages is not None:
            self.prompt_tokens = count_prompt_tokens(self.prompt_messages)
            self.tokens_counted_locally = True
        if served and self.completion_tokens is None and self.completion_parts is not None:
            self.completion_tokens = count_text_tokens("".join(self.completion_parts))
            self.tokens_counted_locally = True
        cost = None
        if self.price is not None and self.prompt_tokens is not None:
            cost = estimate_cost(self.prompt_tokens, self.completion_tokens or 0, self.price)
        return {
            "id": self.id,
            "key_id": self.key_id,
            # A client may name any model; the column keeps what fits.
            "model": self.model[:MAX_NAME_CHARS] if self.model else self.model,
            "backend": self.backend,
            "upstream_model": self.upstream_model,
            "attempts": self.attempts,
            "attempt_log": self.attempt_log,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens_counted_locally": self.tokens_counted_locally,
            "cost_usd": cost,
            "ttft_ms": self.ttft_ms,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "error_code": self.error_code,
            "streamed": self.streamed,
            "client_disconnected": self.client_disconnected,
            "started_at": datetime.fromtimestamp(self.started_at, UTC),
            "finished_at": datetime.fromtimestamp(self.finished_at or self.started_at, UTC),
        }
