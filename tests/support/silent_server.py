"""A loopback TCP server that accepts connections and never answers: a hung, not a dead, peer.

Clients connect successfully and then wait on their own timeouts, as they would against a
database stalled by a network partition or an overloaded host.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class SilentServer:
    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.connections_accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._swallow, self.host, 0)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # A handler only reads, so an aborted transport ends it at once.
        await asyncio.gather(*self._handlers)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> SilentServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self._writers.add(writer)
        self.connections_accepted += 1
        try:
            while await reader.read(64 * 1024):
                pass  # read and drop whatever the client says; never reply
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
            self._handlers.discard(handler)
