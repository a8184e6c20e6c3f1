"""Trying ranked routes in turn until one serves the request, within one deadline.

The first attempt runs directly, so a request that succeeds pays nothing for failover; only
after a retryable failure (unreachable, timeout, 5xx, 429) does tenacity take over the
remaining routes, with jittered exponential back-off that honours a backend's Retry-After when
the next attempt goes back to the same backend. A stream is retried only while nothing has
been sent to the client: attempts raise `BackendError` only in that case.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from router.dispatch import Route
from router.errors import BackendError, BackendOutOfRotation, GatewayError
from router.ledger import RequestRecord
from router.table import BackendTable

T = TypeVar("T")

BACKOFF_MULTIPLIER_S = 0.025
BACKOFF_MAX_S = 0.5


class _PastDeadline(stop_base):
    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self._loop = loop
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._loop.time() >= self._deadline


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, BackendError) and error.is_retryable


async def attempt_route(
    route: Route,
    record: RequestRecord,
    attempt: Callable[[Route], Awaitable[T]],
    table: BackendTable,
) -> T:
    """One attempt on one route, noted on the ledger record and in the backend table."""
    backend = route.candidate.backend
    if not table.admit(backend, time.monotonic()):
        raise BackendOutOfRotation(f"backend {backend!r} is out of rotation for now")
    record.begin_attempt(backend, route.candidate.upstream_model, route.price)
    table.start(backend)
    started = time.perf_counter()
    try:
        result = await attempt(route)
    except GatewayError as error:
        record.end_attempt(error.status, error.code, started)
        table.finish(
            backend, time.monotonic(), ok=False, status=error.status,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            error=error.message, retry_after_s=error.retry_after_s,
        )  # fmt: skip
        raise
    except BaseException:
        table.abandon(backend)  # the client left: no verdict on the backend
        raise
    latency_ms = (time.perf_counter() - started) * 1000.0
    if record.client_disconnected:
        record.end_attempt(record.status, record.error_code, started)
        table.abandon(backend)  # the client left mid-stream: no verdict on the backend
        return result
    # A stream that broke after its first byte returns normally, with the failure on the record.
    status = record.status or 200
    record.end_attempt(status, record.error_code, started)
    ttft_ms = record.ttft_ms
    table.finish(
        backend, time.monotonic(), ok=status < 400, status=status, latency_ms=latency_ms,
        ttft_ms=ttft_ms, completion_tokens=record.completion_tokens,
        decode_ms=latency_ms - ttft_ms if ttft_ms is not None else None,
    )  # fmt: skip
    return result


async def serve_with_failover(
    routes: Sequence[Route],
    record: RequestRecord,
    deadline: float,
    attempt: Callable[[Route], Awaitable[T]],
    table: BackendTable,
) -> T:
    """The first route's answer, or the next route's after a retryable failure, and so on."""
    try:
        return await attempt_route(routes[0], record, attempt, table)
    except BackendError as error:
        if len(routes) == 1 or not error.is_retryable:
            raise
        failed = error
    loop = asyncio.get_running_loop()
    remaining = iter(routes[1:])
    previous_backend = routes[0].candidate.backend
    jitter = wait_random_exponential(multiplier=BACKOFF_MULTIPLIER_S, max=BACKOFF_MAX_S)

    def wait(state: RetryCallState) -> float:
        delay = jitter(state)
        if next_route is not None and next_route.candidate.backend == previous_backend:
            delay = max(delay, failed.retry_after_s or 0.0)
        return max(0.0, min(delay, deadline - loop.time()))

    next_route: Route | None = next(remaining)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(len(routes) - 1) | _PastDeadline(loop, deadline),
        wait=wait,
        retry=retry_if_exception(is_retryable),
        reraise=True,
    )
    await asyncio.sleep(wait(RetryCallState(retrying, None, (), {})))
    async for trial in retrying:
        with trial:
            route = next_route
            assert route is not None
            next_route = next(remaining, None)
            previous_backend = route.candidate.backend
            try:
                return await attempt_route(route, record, attempt, table)
            except BackendError as error:
                failed = error
                raise
    raise failed  # pragma: no cover - tenacity re-raises the last error itself
