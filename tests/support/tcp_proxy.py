"""A loopback TCP proxy that tests can cut and restore, to make a real server look down.

`stop()` closes the listener and aborts every open connection (clients see resets, new
connections are refused); `restart()` listens again on the same port, so clients configured
with `port` reconnect to the target as if it had come back.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

CHUNK_BYTES = 64 * 1024
HANDLER_EXIT_TIMEOUT_S = 2.0


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self._port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The listening port, fixed by the first `start()` and kept across restarts."""
        if not self._port:
            raise RuntimeError("the proxy has not been started")
        return self._port

    @property
    def is_running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the proxy is already running")
        self._server = await asyncio.start_server(
            self._serve, self.host, self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and reset the open ones, as a crashed server would."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await _finish(self._handlers)
        if server is not None:
            await server.wait_closed()

    async def restart(self) -> None:
        """Listen again on the same port."""
        await self.stop()
        await self.start()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self._writers.add(client)
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                upstream_reader, upstream = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
            except OSError:
                return
            self._writers.add(upstream)
            await asyncio.gather(_pipe(client_reader, upstream), _pipe(upstream_reader, client))
        finally:
            for writer in (client, upstream):
                if writer is not None:
                    writer.transport.abort()
                    self._writers.discard(writer)
            self._handlers.discard(handler)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close, so either side may finish first."""
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.transport.abort()


async def _finish(handlers: set[asyncio.Task[None]]) -> None:
    """Let connection handlers end on their aborted transports; cancel any still stuck."""
    if not handlers:
        return
    _, stuck = await asyncio.wait(set(handlers), timeout=HANDLER_EXIT_TIMEOUT_S)
    for handler in stuck:
        handler.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)
