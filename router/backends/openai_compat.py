"""Backends that speak the OpenAI API (vLLM, SGLang, llama.cpp, Ollama, OpenAI-compatible clouds).

Proxied directly over one shared, pooled aiohttp session: no translation, and stream events are
passed on as soon as they are decoded.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import orjson

from router.backends.base import ChatChunk, ChatResponse, redact
from router.config import BackendConfig
from router.errors import (
    BackendError,
    BackendRateLimited,
    BackendRejected,
    BackendTimeout,
    BackendUnreachable,
)
from router.sse import SSEDecoder


class OpenAICompatibleBackend:
    def __init__(
        self, config: BackendConfig, session: aiohttp.ClientSession, api_key: str | None
    ) -> None:
        self.name = config.name
        self._url = str(config.base_url).rstrip("/") + "/chat/completions"
        self._session = session
        self._api_key = api_key
        self._connect_timeout_s = config.connect_timeout_s
        self._read_timeout_s = config.read_timeout_s
        self._headers = {"Content-Type": "application/json", **config.headers}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def _timeout(self, total_s: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=total_s, sock_connect=self._connect_timeout_s, sock_read=self._read_timeout_s
        )

    async def complete(self, body: dict[str, Any], timeout_s: float) -> ChatResponse:
        try:
            async with self._session.post(
                self._url,
                data=orjson.dumps(body),
                headers=self._headers,
                timeout=self._timeout(timeout_s),
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise self._status_error(response.status, raw, response.headers)
        except TimeoutError:
            raise BackendTimeout(f"backend {self.name!r} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise self._transport_error(exc) from None
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BackendError(f"backend {self.name!r} sent a response that is not JSON") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("choices"), list):
            raise BackendError(f"backend {self.name!r} sent a response without choices")
        return parsed

    async def stream(
        self, body: dict[str, Any], timeout_s: float
    ) -> AsyncGenerator[ChatChunk, None]:
        try:
            async with self._session.post(
                self._url,
                data=orjson.dumps(body),
                headers=self._headers,
                timeout=self._timeout(timeout_s),
            ) as response:
                if response.status >= 400:
                    raise self._status_error(
                        response.status, await response.read(), response.headers
                    )
                decoder = SSEDecoder()
                async for data in response.content.iter_any():
                    for event in decoder.feed(data):
                        if event.data == b"[DONE]":
                            return
                        yield self._parse_chunk(event.data)
        except TimeoutError:
            raise BackendTimeout(f"backend {self.name!r} stopped sending in time") from None
        except aiohttp.ClientError as exc:
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

    def _status_error(self, status: int, raw: bytes, headers: Any) -> BackendError:
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

    def _transport_error(self, exc: aiohttp.ClientError) -> BackendError:
        if isinstance(exc, aiohttp.ClientConnectorError):
            return BackendUnreachable(f"backend {self.name!r} is unreachable")
        return BackendUnreachable(f"backend {self.name!r} broke the connection")

    async def close(self) -> None:
        """The shared session belongs to the gateway, which closes it."""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
