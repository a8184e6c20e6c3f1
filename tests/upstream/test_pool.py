"""The upstream pool against real loopback servers that write raw HTTP, so each test controls
framing, pauses and closes byte by byte: reuse, retry of stale connections, streaming, timeouts,
abandonment and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import cast

import pytest

from router.upstream.http1 import Origin, RequestTemplate
from router.upstream.pool import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)
from tests.support.servers import free_port

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 2.0
WAIT_S = 2.0  # the bound on every wait for something the other side should do promptly
HANDLER_EXIT_TIMEOUT_S = 2.0

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


class Peer:
    """The server's side of one accepted connection."""

    def __init__(
        self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.index = index
        self.reader = reader
        self.writer = writer
        self.requests: list[bytes] = []
        self.closed_by_client = asyncio.Event()

    async def read_request(self) -> bytes | None:
        """The next whole request, or None when the client closed the connection first."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_client.set()
            return None
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        request = head + await self.reader.readexactly(length)
        self.requests.append(request)
        return request

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_until_closed(self) -> None:
        """Swallow whatever the client sends until it closes the connection."""
        try:
            while await self.reader.read(64 * 1024):
                pass
        except ConnectionError:
            pass
        self.closed_by_client.set()

    def close(self) -> None:
        self.writer.transport.abort()


Handler = Callable[[Peer], Awaitable[None]]


class UpstreamServer:
    """A loopback server that runs `handler` on every accepted connection."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.peers: list[Peer] = []
        self.failures: list[BaseException] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def connections_accepted(self) -> int:
        return len(self.peers)

    @property
    def requests(self) -> list[bytes]:
        return [request for peer in self.peers for request in peer.requests]

    @property
    def origin(self) -> Origin:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return Origin("https" if self.tls else "http", "127.0.0.1", port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for peer in self.peers:
            peer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=HANDLER_EXIT_TIMEOUT_S)
        if server is not None:
            await server.wait_closed()
        if self.failures:
            raise AssertionError(f"the server handler failed: {self.failures[0]!r}")

    async def __aenter__(self) -> UpstreamServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        peer = Peer(len(self.peers), reader, writer)
        self.peers.append(peer)
        try:
            await self.handler(peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            peer.closed_by_client.set()
        except Exception as exc:
            self.failures.append(exc)
        finally:
            writer.transport.abort()
            self._handlers.discard(task)


def answer_each_request_with(response: bytes) -> Handler:
    """A keep-alive server: every request on a connection gets `response`."""

    async def handler(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(response)

    return handler


@pytest.fixture
async def pool() -> AsyncIterator[UpstreamPool]:
    pool = UpstreamPool()
    yield pool
    await pool.close()


async def send(
    pool: UpstreamPool,
    origin: Origin,
    *,
    body: bytes = b"{}",
    read_timeout_s: float = READ_TIMEOUT_S,
    tls: ssl.SSLContext | None = None,
    deadline: float | None = None,
) -> UpstreamResponse:
    payload = RequestTemplate("POST", "/v1/chat/completions", origin, {}).render(body)
    return await pool.request(
        origin,
        payload,
        connect_timeout_s=CONNECT_TIMEOUT_S,
        read_timeout_s=read_timeout_s,
        tls=tls,
        deadline=deadline,
    )


async def read_into(response: UpstreamResponse, pieces: list[bytes]) -> None:
    """Append each body piece as it arrives, so a test sees what came before a failure."""
    async for piece in response.iter_body():
        pieces.append(piece)


async def closed_by_client(peer: Peer) -> None:
    await asyncio.wait_for(peer.closed_by_client.wait(), WAIT_S)


# Reuse


async def test_sequential_requests_share_one_keep_alive_connection(pool: UpstreamPool) -> None:
    async with UpstreamServer(answer_each_request_with(OK)) as server:
        for _ in range(3):
            response = await send(pool, server.origin)
            assert response.status == 200
            assert await response.read() == b"hello"
        assert server.connections_accepted == 1
        assert len(server.requests) == 3


async def test_request_reaches_the_server_byte_for_byte(pool: UpstreamPool) -> None:
    async with UpstreamServer(answer_each_request_with(OK)) as server:
        response = await send(pool, server.origin, body=b'{"model": "m"}')
        await response.read()
        expected = RequestTemplate("POST", "/v1/chat/completions", server.origin, {})
        assert server.requests == [expected.render(b'{"model": "m"}')]


@pytest.mark.parametrize(
    ("response", "body"),
    [
        (OK, b"hello"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
            b"hello",
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello",
            b"hello",
        ),
    ],
    ids=["content-length", "chunked", "no-content", "http-1.0-keep-alive"],
)
async def test_response_read_to_its_end_returns_the_connection_to_the_pool(
    pool: UpstreamPool, response: bytes, body: bytes
) -> None:
    async with UpstreamServer(answer_each_request_with(response)) as server:
        first = await send(pool, server.origin)
        assert await first.read() == body
        second = await send(pool, server.origin)
        assert await second.read() == body
        assert server.connections_accepted == 1


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_response_that_forbids_reuse_closes_its_connection(
    pool: UpstreamPool, response: bytes
) -> None:
    # The server keeps the connection open: closing it is the client's job here.
    async with UpstreamServer(answer_each_request_with(response)) as server:
        first = await send(pool, server.origin)
        assert await first.read() == b"hello"
        await closed_by_client(server.peers[0])
        second = await send(pool, server.origin)
        assert await second.read() == b"hello"
        assert server.connections_accepted == 2


async def test_close_delimited_response_is_read_to_the_close_and_not_reused(
    pool: UpstreamPool,
) -> None:
    async def answer_then_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\n\r\nuntil ")
        await peer.send(b"the end")
        peer.writer.close()
        await peer.read_until_closed()

    async with UpstreamServer(answer_then_close) as server:
        first = await send(pool, server.origin)
        assert await first.read() == b"until the end"
        second = await send(pool, server.origin)
        assert await second.read() == b"until the end"
        assert server.connections_accepted == 2


@pytest.mark.parametrize("pause_s", [0.0, 0.1], ids=["at-once", "after-a-pause"])
async def test_idle_connection_closed_by_the_server_is_replaced_without_error(
    pool: UpstreamPool, pause_s: float
) -> None:
    # Each response omits `Connection: close`, so the client pools the connection it is about
    # to lose: the server closes it right after answering.
    async def answer_once_then_close(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)

    async with UpstreamServer(answer_once_then_close) as server:
        for _ in range(3):
            response = await send(pool, server.origin)
            assert await response.read() == b"hello"
            await asyncio.sleep(pause_s)
        assert server.connections_accepted == 3


async def test_request_on_a_connection_dropped_as_it_arrives_is_sent_again_on_a_fresh_one(
    pool: UpstreamPool,
) -> None:
    # The race an idle timeout makes: the request is on its way when the server closes.
    async def first_connection_goes_stale(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)
        if peer.index == 0:
            await peer.read_request()
            return  # closed without an answer
        while await peer.read_request() is not None:
            await peer.send(OK)

    async with UpstreamServer(first_connection_goes_stale) as server:
        first = await send(pool, server.origin)
        assert await first.read() == b"hello"
        second = await send(pool, server.origin)
        assert await second.read() == b"hello"
        assert server.connections_accepted == 2
        assert [len(peer.requests) for peer in server.peers] == [2, 1]


async def test_fresh_connection_closed_before_any_response_is_a_connect_error(
    pool: UpstreamPool,
) -> None:
    async def hang_up(peer: Peer) -> None:
        await peer.read_request()

    async with UpstreamServer(hang_up) as server:
        with pytest.raises(UpstreamConnectError):
            await send(pool, server.origin)
        assert server.connections_accepted == 1, "a fresh connection is not retried"


async def test_idle_connection_older_than_the_keepalive_is_closed_not_reused() -> None:
    pool = UpstreamPool(keepalive_s=0.1)
    try:
        async with UpstreamServer(answer_each_request_with(OK)) as server:
            first = await send(pool, server.origin)
            await first.read()
            await asyncio.sleep(0.2)
            second = await send(pool, server.origin)
            await second.read()
            assert server.connections_accepted == 2
            await closed_by_client(server.peers[0])
    finally:
        await pool.close()


async def test_closing_the_pool_closes_its_idle_connections() -> None:
    pool = UpstreamPool()
    async with UpstreamServer(answer_each_request_with(OK)) as server:
        try:
            response = await send(pool, server.origin)
            await response.read()
        finally:
            await pool.close()
        await closed_by_client(server.peers[0])


async def test_connection_that_receives_bytes_while_idle_is_not_reused(
    pool: UpstreamPool,
) -> None:
    # The parser marks a connection unusable when bytes follow a complete response; bytes that
    # arrive once the connection is back in the pool must count as much.
    async def answer_then_babble(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(OK)
            await asyncio.sleep(0.05)
            await peer.send(b"HTTP/1.1 200 OK\r\n")

    async with UpstreamServer(answer_then_babble) as server:
        first = await send(pool, server.origin)
        assert await first.read() == b"hello"
        await asyncio.sleep(0.2)
        second = await send(pool, server.origin)
        assert await second.read() == b"hello"
        assert server.connections_accepted == 2


# Streaming and flow control


async def test_chunked_stream_yields_each_piece_before_the_next_is_sent(
    pool: UpstreamPool,
) -> None:
    first_piece_received = asyncio.Event()

    async def stream_in_two_pieces(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await asyncio.wait_for(first_piece_received.wait(), WAIT_S)
        await peer.send(b"6\r\nsecond\r\n0\r\n\r\n")
        await peer.read_until_closed()

    async with UpstreamServer(stream_in_two_pieces) as server:
        response = await send(pool, server.origin)
        pieces: list[bytes] = []
        async for piece in response.iter_body():
            pieces.append(piece)
            first_piece_received.set()
        assert pieces == [b"first", b"second"]


async def test_reader_that_falls_behind_makes_the_server_wait(pool: UpstreamPool) -> None:
    # Larger than the loopback socket buffers on both sides plus the 1 MiB high-water mark.
    body = bytes(range(256)) * (32 * 1024 * 1024 // 256)
    all_sent = asyncio.Event()

    async def send_a_large_body(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        all_sent.set()
        await peer.read_until_closed()

    async with UpstreamServer(send_a_large_body) as server:
        response = await send(pool, server.origin)
        await asyncio.sleep(0.3)
        assert not all_sent.is_set(), "the client kept reading with nobody consuming"
        assert await response.read() == body
        await asyncio.wait_for(all_sent.wait(), WAIT_S)


# Timeouts


async def test_server_that_never_answers_times_out_after_the_read_timeout(
    pool: UpstreamPool,
) -> None:
    async def never_answer(peer: Peer) -> None:
        await peer.read_until_closed()

    async with UpstreamServer(never_answer) as server:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            await send(pool, server.origin, read_timeout_s=0.3)
        elapsed_s = time.monotonic() - started
        assert 0.3 <= elapsed_s < 1.5
        await closed_by_client(server.peers[0])


async def test_body_that_stops_arriving_times_out_and_closes_the_connection(
    pool: UpstreamPool,
) -> None:
    async def stall_mid_body(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        await peer.read_until_closed()

    async with UpstreamServer(stall_mid_body) as server:
        response = await send(pool, server.origin, read_timeout_s=0.3)
        pieces: list[bytes] = []
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            await read_into(response, pieces)
        assert 0.3 <= time.monotonic() - started < 1.5
        assert pieces == [b"half"]
        await closed_by_client(server.peers[0])


def trickle(pieces: int, interval_s: float) -> Handler:
    """A chunked response of `pieces` one-byte chunks, one every `interval_s`."""

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(pieces):
            await asyncio.sleep(interval_s)
            await peer.send(b"1\r\nx\r\n")
        await peer.send(b"0\r\n\r\n")
        await peer.read_until_closed()

    return handler


async def test_read_timeout_bounds_each_silence_not_the_whole_response(
    pool: UpstreamPool,
) -> None:
    async with UpstreamServer(trickle(pieces=8, interval_s=0.1)) as server:
        response = await send(pool, server.origin, read_timeout_s=0.4)
        assert await response.read() == b"x" * 8


async def test_deadline_bounds_the_whole_response_however_steadily_it_arrives(
    pool: UpstreamPool,
) -> None:
    async with UpstreamServer(trickle(pieces=100, interval_s=0.05)) as server:
        deadline = asyncio.get_running_loop().time() + 0.4
        started = time.monotonic()
        response = await send(pool, server.origin, deadline=deadline)
        with pytest.raises(UpstreamTimeout):
            await response.read()
        assert 0.4 <= time.monotonic() - started < 1.5
        await closed_by_client(server.peers[0])


# Broken connections


async def test_closed_port_is_a_connect_error(pool: UpstreamPool) -> None:
    with pytest.raises(UpstreamConnectError):
        await send(pool, Origin("http", "127.0.0.1", free_port()))


@pytest.mark.parametrize(
    "partial",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n",
    ],
    ids=["content-length", "chunked"],
)
async def test_server_closing_mid_body_is_a_connect_error(
    pool: UpstreamPool, partial: bytes
) -> None:
    async def close_mid_body(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(partial)

    async with UpstreamServer(close_mid_body) as server:
        response = await send(pool, server.origin)
        pieces: list[bytes] = []
        with pytest.raises(UpstreamConnectError):
            await read_into(response, pieces)
        assert pieces == [b"half"]

        response = await send(pool, server.origin)
        with pytest.raises(UpstreamConnectError):
            await response.read()
        assert server.connections_accepted == 2


@pytest.mark.parametrize(
    "head",
    [b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n"],
    ids=["bad-status-line", "bad-header"],
)
async def test_malformed_response_head_is_a_broken_response_not_a_connect_error(
    pool: UpstreamPool, head: bytes
) -> None:
    # The upstream answered, so it is reachable: this is not a reason to try elsewhere.
    async def answer_badly(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(head)
        await peer.read_until_closed()

    async with UpstreamServer(answer_badly) as server:
        with pytest.raises(UpstreamError) as caught:
            await send(pool, server.origin)
        assert not isinstance(caught.value, UpstreamConnectError | UpstreamTimeout)


async def test_malformed_answer_on_a_reused_connection_is_not_sent_again(
    pool: UpstreamPool,
) -> None:
    # The server read and answered the request: sending it again would run it twice.
    async def answer_second_request_badly(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)
        if await peer.read_request() is not None:
            await peer.send(b"HTTP/2 200 OK\r\n\r\n")
        await peer.read_until_closed()

    async with UpstreamServer(answer_second_request_badly) as server:
        first = await send(pool, server.origin)
        await first.read()
        with pytest.raises(UpstreamError):
            await send(pool, server.origin)
        assert len(server.requests) == 2


# Abandonment


async def test_closing_a_response_closes_its_connection(pool: UpstreamPool) -> None:
    async with UpstreamServer(trickle(pieces=100, interval_s=0.05)) as server:
        response = await send(pool, server.origin)
        response.close()
        await closed_by_client(server.peers[0])

        response = await send(pool, server.origin)
        assert server.connections_accepted == 2, "an abandoned connection is not reused"
        response.close()


async def test_breaking_out_of_a_stream_closes_its_connection(pool: UpstreamPool) -> None:
    async with UpstreamServer(trickle(pieces=100, interval_s=0.05)) as server:
        response = await send(pool, server.origin)
        async for piece in response.iter_body():
            assert piece == b"x"
            break
        await closed_by_client(server.peers[0])


async def test_closing_an_abandoned_stream_explicitly_closes_its_connection(
    pool: UpstreamPool,
) -> None:
    async with UpstreamServer(trickle(pieces=100, interval_s=0.05)) as server:
        response = await send(pool, server.origin)
        # iter_body is an async generator, though typed as the narrower AsyncIterator.
        body = cast(AsyncGenerator[bytes, None], response.iter_body())
        async with contextlib.aclosing(body):
            async for _ in body:
                break
        await closed_by_client(server.peers[0])


# TLS


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(directory: Path, name: str) -> None:
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a test CA (`ca.pem`), a server certificate for 127.0.0.1 that it
    signed (`server.pem`, `server.key`) and an unrelated CA (`other-ca.pem`)."""
    directory = tmp_path_factory.mktemp("tls")
    make_ca(directory, "ca")
    make_ca(directory, "other-ca")
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    return directory


def server_tls(certificates: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    return context


async def test_https_request_is_verified_against_the_given_ca_and_reused(
    pool: UpstreamPool, certificates: Path
) -> None:
    tls = pool.tls_context(str(certificates / "ca.pem"))
    async with UpstreamServer(answer_each_request_with(OK), tls=server_tls(certificates)) as server:
        assert server.origin.scheme == "https"
        for _ in range(2):
            response = await send(pool, server.origin, tls=tls)
            assert response.status == 200
            assert await response.read() == b"hello"
        assert server.connections_accepted == 1


@pytest.mark.parametrize("ca", ["other-ca.pem", None], ids=["other-ca", "system-cas"])
async def test_certificate_from_an_untrusted_ca_is_a_connect_error(
    pool: UpstreamPool, certificates: Path, ca: str | None
) -> None:
    tls = pool.tls_context(str(certificates / ca) if ca else None)
    async with UpstreamServer(answer_each_request_with(OK), tls=server_tls(certificates)) as server:
        with pytest.raises(UpstreamConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await send(pool, server.origin, tls=tls)
        assert server.requests == []


async def test_certificate_for_another_host_is_a_connect_error(
    pool: UpstreamPool, certificates: Path
) -> None:
    tls = pool.tls_context(str(certificates / "ca.pem"))
    async with UpstreamServer(answer_each_request_with(OK), tls=server_tls(certificates)) as server:
        # The same server, but named as a host its certificate does not cover.
        origin = Origin("https", "localhost", server.origin.port)
        with pytest.raises(UpstreamConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await send(pool, origin, tls=tls)
        assert server.requests == []
