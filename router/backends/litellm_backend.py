"""Backends in providers' own APIs (Anthropic, Gemini, Bedrock, ...), translated by litellm.

litellm is imported only when such a backend is configured, in a worker thread at start-up
(the event loop keeps running meanwhile), and the gateway opens its port once it is done.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from typing import Any

from router.backends.base import ChatResponse, StreamBatch, redact
from router.config import BackendConfig
from router.errors import (
    BackendError,
    BackendRateLimited,
    BackendRejected,
    BackendTimeout,
    BackendUnreachable,
)

_import_task: asyncio.Future[Any] | None = None


def _import_litellm() -> Any:
    # litellm otherwise fetches its price table from the internet on import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def start_litellm_import() -> asyncio.Future[Any]:
    global _import_task
    if _import_task is None:
        _import_task = asyncio.ensure_future(asyncio.to_thread(_import_litellm))
    return _import_task


def _remaining(deadline: float) -> float:
    return max(0.001, deadline - asyncio.get_running_loop().time())


class LiteLLMBackend:
    def __init__(self, config: BackendConfig, api_key: str | None) -> None:
        self.name = config.name
        self._provider = config.provider
        self._api_key = api_key
        self._api_base = str(config.base_url).rstrip("/") if config.base_url else None
        self._connect_timeout_s = config.connect_timeout_s
        self._headers = dict(config.headers)
        self._litellm = start_litellm_import()

    def _arguments(self, body: dict[str, Any], timeout_s: float, stream: bool) -> dict[str, Any]:
        arguments = dict(body)
        arguments["model"] = f"{self._provider}/{body['model']}"
        arguments["stream"] = stream
        if stream:
            arguments["stream_options"] = {"include_usage": True}
        else:
            arguments.pop("stream_options", None)
        arguments.update(
            api_key=self._api_key,
            api_base=self._api_base,
            timeout=timeout_s,
            num_retries=0,
            max_retries=0,
            # Parameters the provider cannot take are dropped rather than failing the request,
            # as the OpenAI-compatible path would leave them to the server to ignore.
            drop_params=True,
        )
        if self._headers:
            arguments["extra_headers"] = self._headers
        return arguments

    async def complete(self, body: dict[str, Any], deadline: float) -> ChatResponse:
        litellm = await self._litellm
        try:
            async with asyncio.timeout_at(deadline):
                response = await litellm.acompletion(
                    **self._arguments(body, _remaining(deadline), stream=False)
                )
        except Exception as exc:
            raise self._translate(exc, litellm) from None
        result: ChatResponse = response.model_dump(exclude_none=True)
        return result

    async def stream(
        self, body: dict[str, Any], deadline: float
    ) -> AsyncGenerator[StreamBatch, None]:
        litellm = await self._litellm
        try:
            async with asyncio.timeout_at(deadline):
                chunks = await litellm.acompletion(
                    **self._arguments(body, _remaining(deadline), stream=True)
                )
                async for chunk in chunks:
                    yield StreamBatch([chunk.model_dump(exclude_none=True)])
            yield StreamBatch([], True)
        except BackendError:
            raise
        except Exception as exc:
            raise self._translate(exc, litellm) from None

    def _translate(self, exc: Exception, litellm: Any) -> BackendError:
        message = f"backend {self.name!r}: " + redact(
            str(getattr(exc, "message", None) or exc), [self._api_key or ""]
        )
        errors = litellm.exceptions
        if isinstance(exc, errors.Timeout | asyncio.TimeoutError | TimeoutError):
            return BackendTimeout(message)
        if isinstance(exc, errors.RateLimitError):
            return BackendRateLimited(message)
        if isinstance(exc, errors.APIConnectionError) and not getattr(exc, "status_code", None):
            return BackendUnreachable(message)
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429):
            return BackendRejected(message, status=status)
        return BackendError(message)

    async def close(self) -> None:
        """litellm's own clients live as long as the process."""
