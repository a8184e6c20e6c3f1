"""HTTP/1.1 without I/O: request bytes out, response events in (after h11's design).

`RequestTemplate` renders a request whose line and headers are fixed per backend, so a request
costs one concatenation. `ResponseParser` accepts the response in any split and yields its head,
body pieces and end; it supports Content-Length, chunked and close-delimited bodies, skips 1xx
interim responses, and decides whether the connection can be reused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024
# Digits only: int() would also take "+3", "0x3" or "0_3", which other parsers read differently.
_DECIMAL = re.compile(rb"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_STATUS = re.compile(rb"[0-9]{3}")
MAX_CHUNK_LINE_BYTES = 4 * 1024


class ProtocolError(Exception):
    """The upstream sent something that is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: Literal["http", "https"]
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def split_url(url: str) -> tuple[Origin, str]:
    """The origin of a URL and its path (without a trailing slash)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    scheme: Literal["http", "https"] = "https" if parts.scheme == "https" else "http"
    return Origin(scheme, parts.hostname, port), parts.path.rstrip("/")


def _check_token(text: str, what: str, may_be_empty: bool = False) -> str:
    if (not text and not may_be_empty) or any(c in text for c in "\r\n\0"):
        raise ValueError(f"invalid {what}: {text!r}")
    return text


class RequestTemplate:
    """A request whose method, target and headers are fixed; only the body varies."""

    __slots__ = ("_prefix",)

    def __init__(
        self, method: str, target: str, origin: Origin, headers: Mapping[str, str]
    ) -> None:
        lines = [f"{_check_token(method, 'method')} {_check_token(target, 'target')} HTTP/1.1"]
        lines.append(f"Host: {origin.host_header}")
        for name, value in headers.items():
            if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
                continue
            name = _check_token(name, "header name")
            lines.append(f"{name}: {_check_token(value, 'header', may_be_empty=True)}")
        self._prefix = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")

    def render(self, body: bytes) -> bytes:
        return b"%b%d\r\n\r\n%b" % (self._prefix, len(body), body)


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    headers: dict[str, str]
    """Lower-cased names; repeated headers joined with ', '."""


class EndOfMessage:
    """The response body is complete."""


END = EndOfMessage()
Event = ResponseHead | bytes | EndOfMessage

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


def _merge_body_pieces(events: list[Event]) -> list[Event]:
    """Adjacent body pieces as one: what arrived in one read is relayed in one write, however
    many HTTP chunks (one per SSE event, typically) it held."""
    if len(events) < 3:
        return events
    merged: list[Event] = []
    pieces: list[bytes] = []
    for event in events:
        if isinstance(event, bytes):
            pieces.append(event)
            continue
        if pieces:
            merged.append(b"".join(pieces))
            pieces = []
        merged.append(event)
    if pieces:
        merged.append(b"".join(pieces))
    return merged


class ResponseParser:
    """Incremental parser of one response; `keep_alive` is known once it is complete."""

    __slots__ = ("_buffer", "_remaining", "_state", "has_started", "keep_alive")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = _HEAD
        self._remaining = 0
        self.keep_alive = False
        self.has_started = False
        """Whether any byte of the response arrived (so the upstream did see the request)."""

    @property
    def is_complete(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[Event]:
        if self._state == _DONE:
            if data:
                self.keep_alive = False  # bytes after the response: never reuse this connection
            return []
        if data:
            self.has_started = True
        self._buffer += data
        events: list[Event] = []
        while self._step(events):
            pass
        return _merge_body_pieces(events)

    def feed_eof(self) -> list[Event]:
        """The connection closed: ends a close-delimited body, else the response is cut short."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
            self.keep_alive = False
            return [END]
        if self._state == _DONE:
            return []
        raise ProtocolError("connection closed before the response was complete")

    def _step(self, events: list[Event]) -> bool:
        state = self._state
        buffer = self._buffer
        if state == _HEAD:
            end = buffer.find(b"\r\n\r\n")
            if end > MAX_HEAD_BYTES or (end < 0 and len(buffer) > MAX_HEAD_BYTES):
                raise ProtocolError("response head too large")
            if end < 0:
                return False
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            parsed = self._parse_head(head)
            if parsed is not None:
                events.append(parsed)
                if self._state == _DONE:  # a response without a body
                    self._state = _HEAD
                    self._finish(events)
                    return False
            return True
        if state == _LENGTH:
            if not buffer:
                return False
            piece = bytes(buffer[: self._remaining])
            del buffer[: len(piece)]
            self._remaining -= len(piece)
            events.append(piece)
            if self._remaining == 0:
                self._finish(events)
            return True
        if state == _UNTIL_CLOSE:
            if buffer:
                events.append(bytes(buffer))
                buffer.clear()
            return False
        if state in (_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF):
            return self._read_chunks(events)
        if state == _TRAILERS:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ProtocolError("trailers too large")
                return False
            del buffer[: line_end + 2]
            if line_end == 0:
                self._finish(events)
            return True
        return False

    def _read_chunks(self, events: list[Event]) -> bool:
        """Every complete piece of chunked body in the buffer, as one event; True when the last
        chunk was reached (trailers follow)."""
        buffer = self._buffer
        size_of_buffer = len(buffer)
        position = 0
        pieces = []
        state = self._state
        while True:
            if state == _CHUNK_SIZE:
                line_end = buffer.find(b"\r\n", position)
                if line_end < 0:
                    if size_of_buffer - position > MAX_CHUNK_LINE_BYTES:
                        raise ProtocolError("chunk size line too long")
                    break
                size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
                if not _HEX.fullmatch(size_text):
                    raise ProtocolError(f"bad chunk size {size_text[:20]!r}")
                size = int(size_text, 16)
                position = line_end + 2
                if size == 0:
                    state = _TRAILERS
                    break
                self._remaining = size
                state = _CHUNK_DATA
            if state == _CHUNK_DATA:
                take = min(self._remaining, size_of_buffer - position)
                if take == 0:
                    break
                pieces.append(bytes(buffer[position : position + take]))
                position += take
                self._remaining -= take
                if self._remaining:
                    break
                state = _CHUNK_CRLF
            if state == _CHUNK_CRLF:
                if size_of_buffer - position < 2:
                    break
                if buffer[position : position + 2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                position += 2
                state = _CHUNK_SIZE
        self._state = state
        del buffer[:position]
        if pieces:
            events.append(pieces[0] if len(pieces) == 1 else b"".join(pieces))
        return state == _TRAILERS

    def _finish(self, events: list[Event]) -> None:
        self._state = _DONE
        events.append(END)
        if self._buffer:
            self.keep_alive = False

    def _parse_head(self, head: bytes) -> ResponseHead | None:
        lines = head.split(b"\r\n")
        status_line = lines[0].split(b" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {lines[0][:80]!r}")
        if not _STATUS.fullmatch(status_line[1]):
            raise ProtocolError(f"bad status {status_line[1][:20]!r}")
        status = int(status_line[1])
        if 100 <= status < 200 and status != 101:
            return None  # an interim response (100 Continue): the real one follows
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise ProtocolError(f"bad header line {line[:80]!r}")
            key = name.decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        connection = headers.get("connection", "").lower()
        if status_line[0] == b"HTTP/1.0":
            self.keep_alive = "keep-alive" in connection
        else:
            self.keep_alive = "close" not in connection
        if status in (204, 304):
            self._state = _DONE
            return ResponseHead(status, headers)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _CHUNK_SIZE
        elif "content-length" in headers:
            length = headers["content-length"].encode("latin-1")
            if not _DECIMAL.fullmatch(length):
                raise ProtocolError(f"bad Content-Length {length[:20]!r}")
            self._remaining = int(length)
            self._state = _LENGTH if self._remaining else _DONE
        else:
            self._state = _UNTIL_CLOSE
            self.keep_alive = False
        return ResponseHead(status, headers)
