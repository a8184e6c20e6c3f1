"""Backends that speak the OpenAI API (vLLM, SGLang, llama.cpp, Ollama, OpenAI-compatible clouds).

Proxied directly over the gateway's one upstream connection pool: no translation, and stream
events are passed on as soon as a network read completes them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson

from router.backends.base import ChatChunk, ChatResponse, StreamBatch, redact
from router.config import BackendConfig
from router.errors import (
    BackendError,
    BackendRateLimited,
    BackendRejected,
    BackendTimeout,
    BackendUnreachable,
)
from router.sse import SSEDecoder
from router.upstream import (
    RequestTemplate,
    UpstreamConnectError,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)
from router.upstream.http1 import split_url


class OpenAICompatibleBackend:
    def __init__(self, config: BackendConfig, pool: UpstreamPool, api_key: str | None) -> None:
        self.name = config.name
        self._pool = pool
        self._api_key = api_key
        self._origin, path = split_url(str(config.base_url))
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "User-Agent": "HybridInference",
            **config.headers,
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._template = RequestTemplate("POST", f"{path}/chat/completions", self._origin, headers)
        self._tls = pool.tls_context(config.tls_ca_file) if self._origin.scheme == "https" else None
        self._connect_timeout_s = config.connect_timeout_s
        self._read_timeout_s = config.read_timeout_s

    async def _send(self, body: dict[str, Any], deadline: float) -> UpstreamResponse:
        return await self._pool.request(
            self._origin,
            self._template.render(orjson.dumps(body)),
            connect_timeout_s=self._connect_timeout_s,
            read_timeout_s=self._read_timeout_s,
            tls=self._tls,
            deadline=deadline,
        )

    async def complete(self, body: dict[str, Any], deadline: float) -> ChatResponse:
        try:
            response = await self._send(body, deadline)
            raw = await response.read()
        except UpstreamError as exc:
            raise self._transport_error(exc) from None
        if response.status >= 400:
            raise self._status_error(response.status, raw, response.headers)
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BackendError(f"backend {self.name!r} sent a response that is not JSON") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("choices"), list):
            raise BackendError(f"backend {self.name!r} sent a response without choices")
        return parsed

    async def stream(
        self, body: dict[str, Any], deadline: float
    ) -> AsyncGenerator[StreamBatch, None]:
        try:
            response = await self._send(body, deadline)
            if response.status >= 400:
                raw = await response.read()
                raise self._status_error(response.status, raw, response.headers)
            decoder = SSEDecoder()
            async for data in response.iter_body():
                chunks = []
                is_done = False
                for event in decoder.feed(data):
                    if event.data == b"[DONE]":
                        is_done = True
                        break
                    chunks.append(self._parse_chunk(event.data))
                if is_done:
                    yield StreamBatch(chunks, True)
                    # Some servers keep the body open a while after [DONE]; nobody waits.
                    response.finish()
                    return
                if chunks:
                    yield StreamBatch(chunks)
            yield StreamBatch([], True)  # a backend that ended its body without [DONE]
        except UpstreamError as exc:
            raise self._transport_error(exc) from None

    def _parse_chunk(self, data: bytes) -> ChatChunk:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise BackendError(
                f"backend {self.name!r} sent a stream event that is not JSON"
            ) from None
        if not isinstance(chunk, dict):
            raise BackendError(f"backend {self.name!r} sent a stream event that is not an object")
        if "error" in chunk:
            raise BackendError(self._message_of(chunk, "failed mid-stream"))
        return chunk

    def _message_of(self, payload: Any, fallback: str) -> str:
        message: Any = None
        if isinstance(payload, dict):
            error = payload.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            message = message or payload.get("message") or payload.get("detail")
        text = message if isinstance(message, str) and message else fallback
        return f"backend {self.name!r}: " + redact(text, [self._api_key or ""])

    def _status_error(self, status: int, raw: bytes, headers: dict[str, str]) -> BackendError:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
        message = self._message_of(payload, f"HTTP {status}")
        if status == 429:
            return BackendRateLimited(message, retry_after_s=_retry_after(headers))
        if 400 <= status < 500 and status not in (408, 409):
            return BackendRejected(message, status=status)
        return BackendError(message)

    def _transport_error(self, exc: UpstreamError) -> BackendError:
        if isinstance(exc, UpstreamTimeout):
            return BackendTimeout(f"backend {self.name!r} stopped sending in time")
        if isinstance(exc, UpstreamConnectError):
            return BackendUnreachable(f"backend {self.name!r} is unreachable: {exc}")
        return BackendError(f"backend {self.name!r} sent a broken response: {exc}")

    async def close(self) -> None:
        """The pool belongs to the gateway, which closes it."""


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
