"""Keep-alive connections to upstream origins, and the responses read from them.

One `UpstreamPool` serves every backend. A connection carries one request at a time and goes
back to the pool only when its response was read to the end and the server allows reuse; a
response abandoned early (the client hung up, a timeout) closes its connection, which is how the
upstream learns to stop generating.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import cast

from router.upstream.http1 import (
    EndOfMessage,
    Event,
    Origin,
    ProtocolError,
    ResponseHead,
    ResponseParser,
)

# Reading pauses while this much of a response waits unconsumed (a slow client downstream).
HIGH_WATER_BYTES = 1 << 20


class UpstreamError(Exception):
    """The exchange with the upstream failed."""


class UpstreamConnectError(UpstreamError):
    """No connection could be made, or it broke before any response."""


class UpstreamTimeout(UpstreamError):
    """Connecting, or waiting for the next bytes, took longer than allowed."""


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.is_closed = False
        self.is_idle = False
        self.idle_since = 0.0
        self._events: deque[Event] = deque()
        self._buffered = 0
        self._is_paused = False
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.is_idle:
            # Nothing was asked: bytes now would be mistaken for the next request's answer.
            self.close()
            return
        try:
            events = self.parser.feed(data)
        except ProtocolError as exc:
            self._fail(exc)
            return
        if events:
            for event in events:
                if isinstance(event, bytes):
                    self._buffered += len(event)
            self._events.extend(events)
            if self._buffered > HIGH_WATER_BYTES and self.transport and not self._is_paused:
                self._is_paused = True
                self.transport.pause_reading()
            self._wake()

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_closed = True
        try:
            self._events.extend(self.parser.feed_eof())
        except ProtocolError as error:
            self._error = self._error or (exc or error)
        self._wake()

    def _fail(self, exc: Exception) -> None:
        self._error = exc
        self.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def start(self, payload: bytes) -> None:
        self.is_idle = False
        self.parser = ResponseParser()
        self._events.clear()
        self._buffered = 0
        assert self.transport is not None
        self.transport.write(payload)

    async def next_event(self, read_timeout_s: float, deadline: float | None = None) -> Event:
        """The next response event, waiting at most `read_timeout_s` and never past `deadline`
        (event-loop time)."""
        while not self._events:
            if self._error is not None:
                raise self._error
            if self.is_closed:
                raise ProtocolError("connection closed before the response was complete")
            self._waiter = self.loop.create_future()
            wake_at = self.loop.time() + read_timeout_s
            if deadline is not None and deadline < wake_at:
                wake_at = deadline
            timer = self.loop.call_at(wake_at, self._time_out, self._waiter)
            try:
                await self._waiter
            finally:
                timer.cancel()
                self._waiter = None
        event = self._events.popleft()
        if isinstance(event, bytes):
            self._buffered -= len(event)
            if self._is_paused and self._buffered < HIGH_WATER_BYTES // 2 and self.transport:
                self._is_paused = False
                self.transport.resume_reading()
        return event

    def _time_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(UpstreamTimeout("no data from the upstream in time"))

    def close(self) -> None:
        self.is_closed = True
        if self.transport is not None:
            self.transport.abort()


class UpstreamResponse:
    """A response whose head has arrived; its body is read with `read()` or `iter_body()`."""

    __slots__ = ("_connection", "_deadline", "_pool", "_read_timeout_s", "headers", "status")

    def __init__(
        self,
        pool: UpstreamPool,
        connection: _Connection,
        head: ResponseHead,
        read_timeout_s: float,
        deadline: float | None = None,
    ) -> None:
        self._pool = pool
        self._deadline = deadline
        self._connection: _Connection | None = connection
        self._read_timeout_s = read_timeout_s
        self.status = head.status
        self.headers = head.headers

    async def iter_body(self) -> AsyncIterator[bytes]:
        """Body pieces as the network delivers them; the connection is released at the end."""
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await connection.next_event(self._read_timeout_s, self._deadline)
                if isinstance(event, EndOfMessage):
                    self._release()
                    return
                if isinstance(event, bytes):
                    yield event
        except (ProtocolError, OSError) as exc:
            self.close()
            raise UpstreamConnectError(f"upstream broke the connection: {exc}") from None
        except BaseException:
            self.close()
            raise

    async def read(self) -> bytes:
        pieces = [piece async for piece in self.iter_body()]
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def finish(self) -> None:
        """Done with this response, read or not: its connection goes back to the pool if the
        body has fully arrived already, and is closed otherwise. Nothing waits for the rest."""
        connection = self._connection
        if connection is not None and connection.parser.is_complete:
            self._release()
        else:
            self.close()

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.release(connection)

    def close(self) -> None:
        """Abandon the response: the connection is closed, not reused."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class UpstreamPool:
    def __init__(self, keepalive_s: float = 60.0) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._keepalive_s = keepalive_s
        self._contexts: dict[str, ssl.SSLContext] = {}

    def tls_context(self, ca_file: str | None) -> ssl.SSLContext:
        key = ca_file or ""
        if key not in self._contexts:
            self._contexts[key] = ssl.create_default_context(cafile=ca_file)
        return self._contexts[key]

    async def request(
        self,
        origin: Origin,
        payload: bytes,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        tls: ssl.SSLContext | None = None,
        deadline: float | None = None,
    ) -> UpstreamResponse:
        """Send a rendered request and wait for the response head. Every wait, for this
        and for the body, is bounded by `deadline` (event-loop time) when one is given."""
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, payload, read_timeout_s, deadline)
            except UpstreamConnectError:
                # The server closed the idle connection as we reused it; nothing was processed,
                # so the request goes once more on a fresh connection.
                pass
        if deadline is not None:
            connect_timeout_s = min(connect_timeout_s, deadline - asyncio.get_running_loop().time())
        connection = await self._connect(origin, connect_timeout_s, tls)
        return await self._exchange(connection, payload, read_timeout_s, deadline)

    async def _exchange(
        self,
        connection: _Connection,
        payload: bytes,
        read_timeout_s: float,
        deadline: float | None,
    ) -> UpstreamResponse:
        try:
            connection.start(payload)
            event = await connection.next_event(read_timeout_s, deadline)
        except UpstreamTimeout:
            connection.close()
            raise
        except (ProtocolError, OSError) as exc:
            connection.close()
            if connection.parser.has_started:
                raise UpstreamError(f"upstream sent a broken response: {exc}") from None
            raise UpstreamConnectError(f"upstream closed the connection: {exc}") from None
        except BaseException:
            connection.close()
            raise
        assert isinstance(event, ResponseHead)
        return UpstreamResponse(self, connection, event, read_timeout_s, deadline)

    async def _connect(
        self, origin: Origin, connect_timeout_s: float, tls: ssl.SSLContext | None
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        if origin.scheme == "https" and tls is None:
            tls = self.tls_context(None)
        try:
            async with asyncio.timeout(max(0.0, connect_timeout_s)):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, origin),
                    origin.host,
                    origin.port,
                    ssl=tls if origin.scheme == "https" else None,
                    server_hostname=origin.host if origin.scheme == "https" else None,
                )
        except TimeoutError:
            raise UpstreamTimeout(f"connecting to {origin.host_header} timed out") from None
        except OSError as exc:
            raise UpstreamConnectError(f"cannot connect to {origin.host_header}: {exc}") from None
        return connection

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        expired_before = time.monotonic() - self._keepalive_s
        while idle:
            connection = idle.pop()
            if (
                not connection.is_closed
                and connection.parser.keep_alive
                and connection.idle_since > expired_before
            ):
                return connection
            connection.close()
        return None

    def release(self, connection: _Connection) -> None:
        if connection.is_closed or not connection.parser.keep_alive:
            connection.close()
            return
        connection.is_idle = True
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.origin, []).append(connection)

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
