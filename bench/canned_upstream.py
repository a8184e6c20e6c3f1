"""A canned OpenAI-compatible upstream for benchmarks: every answer is bytes prepared at start-up.

It exists so that a benchmark measures the gateway, never the model server: a raw asyncio
`Protocol` on uvloop with HTTP/1.1 keep-alive and pipelining, and no HTTP framework. The request
parser is a pure function of the bytes received; the protocol only buffers and writes.

    python bench/canned_upstream.py --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
from dataclasses import dataclass
from typing import cast

import uvloop

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
MODEL = "canned"
CREATED = 1_700_000_000
CONTENT_PIECES = ("Hello", " from", " the", " canned", " upstream.")
USAGE = {"prompt_tokens": 9, "completion_tokens": len(CONTENT_PIECES), "total_tokens": 14}


class BadRequest(Exception):
    """The bytes received are not a request this server can frame; the connection closes."""


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: bytes
    path: bytes
    content_length: int
    is_keep_alive: bool


def parse_head(head: bytes) -> RequestHead:
    """The parts of a request head (without its final blank line) that routing and framing need."""
    request_line, *header_lines = head.split(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise BadRequest("malformed request line")
    method, target, version = parts
    content_length = 0
    connection = b""
    for line in header_lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise BadRequest("malformed header line")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise BadRequest("invalid Content-Length")
            content_length = int(value)
        elif name == b"transfer-encoding":
            # Clients send small JSON bodies with Content-Length; chunked uploads are not worth
            # parsing in a benchmark fixture, and guessing the framing would desynchronise.
            raise BadRequest("chunked request bodies are not supported")
        elif name == b"connection":
            connection = value.strip().lower()
    if content_length > MAX_BODY_BYTES:
        raise BadRequest("body too large")
    is_keep_alive = (
        connection != b"close" if version == b"HTTP/1.1" else connection == b"keep-alive"
    )
    return RequestHead(method, target.partition(b"?")[0], content_length, is_keep_alive)


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _response(status: str, content_type: str, body: bytes, *, is_keep_alive: bool) -> bytes:
    connection = b"" if is_keep_alive else b"Connection: close\r\n"
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n".encode()
        + connection
        + b"\r\n"
        + body
    )


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def completion_body() -> bytes:
    return _json_bytes(
        {
            "id": "chatcmpl-canned",
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(CONTENT_PIECES)},
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        }
    )


def stream_events() -> list[bytes]:
    """The SSE events of one streamed answer: role, content pieces, finish, usage, `[DONE]`."""

    def event(choices: list[object], **extra: object) -> bytes:
        chunk = {
            "id": "chatcmpl-canned",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": MODEL,
            "choices": choices,
            **extra,
        }
        return b"data: " + _json_bytes(chunk) + b"\n\n"

    def delta(content: dict[str, str], finish_reason: str | None = None) -> list[object]:
        return [{"index": 0, "delta": content, "finish_reason": finish_reason}]

    return [
        event(delta({"role": "assistant", "content": ""})),
        *(event(delta({"content": piece})) for piece in CONTENT_PIECES),
        event(delta({}, "stop")),
        event([], usage=USAGE),
        b"data: [DONE]\n\n",
    ]


def stream_response(*, is_keep_alive: bool) -> bytes:
    # One HTTP chunk per event, as a real server flushes them, but written in a single send.
    connection = b"" if is_keep_alive else b"Connection: close\r\n"
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\n"
        + connection
        + b"\r\n"
        + b"".join(_chunk(e) for e in stream_events())
        + b"0\r\n\r\n"
    )


def _canned(is_keep_alive: bool) -> dict[tuple[bytes, bytes, bool], bytes]:
    """Prepared responses by (method, path, is_stream)."""
    completion = _response(
        "200 OK", "application/json", completion_body(), is_keep_alive=is_keep_alive
    )
    stream = stream_response(is_keep_alive=is_keep_alive)
    health = _response(
        "200 OK", "application/json", b'{"status":"ok"}', is_keep_alive=is_keep_alive
    )
    models = _response(
        "200 OK",
        "application/json",
        _json_bytes({"object": "list", "data": [{"id": MODEL, "object": "model"}]}),
        is_keep_alive=is_keep_alive,
    )
    table: dict[tuple[bytes, bytes, bool], bytes] = {}
    for path in (b"/v1/chat/completions", b"/chat/completions"):
        table[(b"POST", path, False)] = completion
        table[(b"POST", path, True)] = stream
    for is_stream in (False, True):
        table[(b"GET", b"/health", is_stream)] = health
        table[(b"GET", b"/v1/models", is_stream)] = models
    return table


RESPONSES = {True: _canned(True), False: _canned(False)}
NOT_FOUND = {
    flag: _response(
        "404 Not Found", "application/json", b'{"error":"not found"}', is_keep_alive=flag
    )
    for flag in (True, False)
}
BAD_REQUEST = _response(
    "400 Bad Request", "application/json", b'{"error":"bad request"}', is_keep_alive=False
)


class CannedProtocol(asyncio.Protocol):
    """One client connection: frames requests by Content-Length and answers each in order."""

    __slots__ = ("_buffer", "_head", "_head_end", "_transport")

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: RequestHead | None = None
        self._head_end = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def pause_writing(self) -> None:
        # A client that pipelines without reading gets no more reads until it catches up.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        while True:
            if self._head is None:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        self._fail(out)
                    break
                try:
                    self._head = parse_head(bytes(buffer[:end]))
                except BadRequest:
                    self._fail(out)
                    break
                self._head_end = end + 4
            head = self._head
            total = self._head_end + head.content_length
            if len(buffer) < total:
                break
            is_stream = STREAM_FLAG.search(buffer, self._head_end, total) is not None
            del buffer[:total]
            self._head = None
            key = (head.method, head.path, is_stream)
            out.append(RESPONSES[head.is_keep_alive].get(key) or NOT_FOUND[head.is_keep_alive])
            if not head.is_keep_alive:
                transport.writelines(out)
                transport.close()
                self._transport = None
                return
        if out:
            transport.writelines(out)

    def _fail(self, out: list[bytes]) -> None:
        assert self._transport is not None
        out.append(BAD_REQUEST)
        self._transport.writelines(out)
        out.clear()
        self._transport.close()
        self._transport = None


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(CannedProtocol, host, port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bound = server.sockets[0].getsockname()
    print(f"canned upstream listening on http://{bound[0]}:{bound[1]}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
