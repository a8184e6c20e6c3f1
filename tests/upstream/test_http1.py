"""HTTP/1.1 without I/O: any split of any response parses to one head, its body and its end;
requests render to exact bytes; malformed input raises instead of being guessed at."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.upstream.http1 import (
    END,
    MAX_HEAD_BYTES,
    EndOfMessage,
    Event,
    Origin,
    ProtocolError,
    RequestTemplate,
    ResponseHead,
    ResponseParser,
    split_url,
)

FRAMING_HEADERS = ("content-length", "transfer-encoding", "connection")

_token_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"
_header_names = st.text(alphabet=_token_chars, min_size=1, max_size=12).filter(
    lambda name: name.lower() not in FRAMING_HEADERS
)
# Visible latin-1 and inner spaces; the parser strips the optional whitespace around a value.
_value_chars = st.characters(
    codec="latin-1",
    min_codepoint=0x20,
    exclude_characters="".join(map(chr, range(0x7F, 0xA1))),  # DEL, C1 controls, NBSP
)
_header_values = st.text(alphabet=_value_chars, max_size=20).map(str.strip)
_headers = st.lists(st.tuples(_header_names, _header_values), max_size=6)
_statuses = st.integers(200, 599).filter(lambda status: status not in (204, 304))
_extensions = st.sampled_from(["", ";a", ";a=b", ' ; name="quoted value"', ";x=1;y=2"])


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def feed_all(pieces: list[bytes]) -> tuple[ResponseParser, list[list[Event]]]:
    """The parser after every piece, and the events each feed returned."""
    parser = ResponseParser()
    return parser, [parser.feed(piece) for piece in pieces]


def flat(batches: list[list[Event]]) -> list[Event]:
    return [event for batch in batches for event in batch]


def body_of(events: list[Event]) -> bytes:
    return b"".join(event for event in events if isinstance(event, bytes))


def expected_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


@dataclass(frozen=True)
class Response:
    """A response to encode with one framing; `chunk_cuts` split the body into HTTP chunks."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    framing: Literal["length", "chunked"]
    chunk_cuts: list[int]
    extensions: list[str]
    is_upper_hex: bool
    trailers: list[tuple[str, str]]

    @property
    def all_headers(self) -> list[tuple[str, str]]:
        if self.framing == "length":
            return [*self.headers, ("Content-Length", str(len(self.body)))]
        return [*self.headers, ("Transfer-Encoding", "chunked")]

    def encode(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} Reason Phrase"]
        lines += [f"{name}: {value}" for name, value in self.all_headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.framing == "length":
            return head + self.body
        chunks = [c for c in split_at(self.body, self.chunk_cuts) if c]
        encoded = [head]
        for chunk, extension in zip(chunks, itertools.cycle(self.extensions or [""]), strict=False):
            size = f"{len(chunk):X}" if self.is_upper_hex else f"{len(chunk):x}"
            encoded.append(f"{size}{extension}\r\n".encode() + chunk + b"\r\n")
        encoded.append(b"0\r\n")
        encoded += [f"{name}: {value}\r\n".encode("latin-1") for name, value in self.trailers]
        encoded.append(b"\r\n")
        return b"".join(encoded)


@st.composite
def responses(draw: st.DrawFn) -> Response:
    body = draw(st.binary(max_size=300))
    return Response(
        status=draw(_statuses),
        headers=draw(_headers),
        body=body,
        framing=draw(st.sampled_from(["length", "chunked"])),
        chunk_cuts=draw(st.lists(st.integers(0, len(body)), max_size=6)),
        extensions=draw(st.lists(_extensions, max_size=3)),
        is_upper_hex=draw(st.booleans()),
        trailers=draw(_headers),
    )


# ResponseParser: framing


@given(response=responses(), data=st.data())
def test_any_split_of_a_response_yields_one_head_its_body_and_end(
    response: Response, data: st.DataObject
) -> None:
    stream = response.encode()
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    parser, batches = feed_all(split_at(stream, cuts))
    events = flat(batches)

    assert events[0] == ResponseHead(response.status, expected_headers(response.all_headers))
    assert body_of(events) == response.body
    assert events[-1] is END
    assert sum(isinstance(event, ResponseHead) for event in events) == 1
    assert sum(isinstance(event, EndOfMessage) for event in events) == 1
    assert all(event for event in events if isinstance(event, bytes)), "no empty body pieces"
    assert parser.is_complete
    assert parser.keep_alive
    assert parser.feed(b"") == []
    assert parser.feed_eof() == []


def test_two_chunks_that_arrive_in_one_feed_come_out_as_one_piece() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
    assert parser.feed(b"cde\r\n5\r\nfghij") == [b"cdefghij"]


@given(response=responses(), data=st.data())
def test_body_pieces_that_arrive_in_one_feed_come_out_as_one_piece(
    response: Response, data: st.DataObject
) -> None:
    stream = response.encode()
    # Cuts at the end of the head and before the last chunk leave feeds of body alone.
    head_end = stream.index(b"\r\n\r\n") + 4
    body_end = stream.rindex(b"0\r\n") if response.framing == "chunked" else len(stream)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    _, batches = feed_all(split_at(stream, [head_end, body_end, *cuts]))
    for batch in batches:
        for before, after in itertools.pairwise(batch):
            assert not (isinstance(before, bytes) and isinstance(after, bytes)), batch


@given(response=responses())
def test_byte_at_a_time_feeding_yields_the_same_head_and_body(response: Response) -> None:
    stream = response.encode()
    parser, batches = feed_all([stream[i : i + 1] for i in range(len(stream))])
    events = flat(batches)
    assert events[0] == ResponseHead(response.status, expected_headers(response.all_headers))
    assert body_of(events) == response.body
    assert events[-1] is END
    assert parser.keep_alive


@given(body=st.binary(max_size=300), data=st.data())
def test_close_delimited_body_ends_only_when_the_connection_closes(
    body: bytes, data: st.DataObject
) -> None:
    stream = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    parser, batches = feed_all(split_at(stream, cuts))
    events = flat(batches)
    assert events[0] == ResponseHead(200, {"content-type": "text/plain"})
    assert END not in events
    assert not parser.is_complete

    assert parser.feed_eof() == [END]
    assert body_of(events) == body
    assert parser.is_complete
    assert not parser.keep_alive


@given(data=st.data())
def test_interim_responses_are_skipped(data: st.DataObject) -> None:
    stream = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    )
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    _, batches = feed_all(split_at(stream, cuts))
    events = flat(batches)
    assert events[0] == ResponseHead(200, {"content-length": "2"})
    assert body_of(events) == b"hi"
    assert events[-1] is END
    assert sum(isinstance(event, ResponseHead) for event in events) == 1


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_and_not_modified_have_no_body_whatever_their_headers_say(
    status: int,
) -> None:
    parser = ResponseParser()
    events = parser.feed(f"HTTP/1.1 {status} X\r\nContent-Length: 100\r\n\r\n".encode())
    assert events == [ResponseHead(status, {"content-length": "100"}), END]
    assert parser.is_complete
    assert parser.keep_alive


def test_zero_content_length_ends_with_the_head() -> None:
    parser = ResponseParser()
    events = parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert events == [ResponseHead(200, {"content-length": "0"}), END]
    assert parser.keep_alive


def test_header_names_are_lower_cased_and_repeats_joined_in_order() -> None:
    parser = ResponseParser()
    events = parser.feed(
        b"HTTP/1.1 200 OK\r\nX-Rate:  1 \r\nx-rate: 2\r\nX-RATE:3\r\nContent-Length: 0\r\n\r\n"
    )
    assert events[0] == ResponseHead(200, {"x-rate": "1, 2, 3", "content-length": "0"})


def test_status_line_without_reason_phrase_is_accepted() -> None:
    events = ResponseParser().feed(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
    assert events == [ResponseHead(200, {"content-length": "0"}), END]


def test_chunked_takes_precedence_over_content_length() -> None:
    parser = ResponseParser()
    events = parser.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
    )
    assert body_of(events) == b"abc"
    assert events[-1] is END


def test_nothing_is_parsed_before_the_head_is_complete() -> None:
    parser = ResponseParser()
    assert not parser.has_started
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Le") == []
    assert parser.has_started
    assert not parser.is_complete


# ResponseParser: keep-alive


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2", True),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2", True),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2", True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0", True),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0",
            False,
        ),
    ],
    ids=[
        "1.1-default",
        "1.1-keep-alive",
        "1.1-close",
        "1.1-close-any-case",
        "1.0-default",
        "1.0-keep-alive",
        "1.0-keep-alive-any-case",
        "1.1-chunked",
        "1.1-chunked-close",
    ],
)
def test_keep_alive_follows_version_and_connection_header(head: bytes, keep_alive: bool) -> None:
    parser = ResponseParser()
    tail = b"\r\n\r\n" if b"chunked" in head else b"\r\n\r\nok"
    events = parser.feed(head + tail)
    assert body_of(events) == b"ok"
    assert events[-1] is END
    assert parser.keep_alive is keep_alive


def test_bytes_after_the_response_in_the_same_feed_forbid_reuse() -> None:
    parser = ResponseParser()
    events = parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
    assert body_of(events) == b"ok"
    assert events[-1] is END
    assert not parser.keep_alive


def test_bytes_after_the_response_in_a_later_feed_forbid_reuse() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert parser.keep_alive
    assert parser.feed(b"EXTRA") == []
    assert not parser.keep_alive


# ResponseParser: malformed input


def _parse(stream: bytes) -> list[Event]:
    return ResponseParser().feed(stream)


@pytest.mark.parametrize(
    "status_line",
    [
        b"HTTP/2 200 OK",
        b"ICY 200 OK",
        b"HTTP/1.1",
        b"HTTP/1.1 OK 200",
        b"HTTP/1.1  200 OK",
        b"garbage",
        b"",
    ],
)
def test_bad_status_line_is_a_protocol_error(status_line: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(status_line + b"\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    "header_line",
    [b"No colon here", b": no name", b" Folded: value", b"Name : value", b"Name\t: value"],
)
def test_bad_header_line_is_a_protocol_error(header_line: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(b"HTTP/1.1 200 OK\r\n" + header_line + b"\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("length", [b"-1", b"abc", b"", b"1.5", b"2, 3"])
def test_bad_content_length_is_a_protocol_error(length: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\n")


@pytest.mark.parametrize("size_line", [b"zz", b"", b"-3", b"3 3", b";ext"])
@pytest.mark.parametrize("after", [b"", b"2\r\nok\r\n"], ids=["first-chunk", "after-a-chunk"])
def test_bad_chunk_size_is_a_protocol_error(size_line: bytes, after: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + after
            + size_line
            + b"\r\nabc"
        )


def test_chunk_without_crlf_after_its_data_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        _parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n")


def test_chunk_size_line_over_4_kib_is_a_protocol_error() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(ProtocolError):
        parser.feed(b"3;" + b"x" * 5000)


def test_head_over_64_kib_without_its_end_is_a_protocol_error() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nX-Big: ")
    with pytest.raises(ProtocolError):
        parser.feed(b"a" * MAX_HEAD_BYTES)


@pytest.mark.parametrize("feeds", [1, 2], ids=["one-feed", "two-feeds"])
def test_head_over_64_kib_is_a_protocol_error_however_it_arrives(feeds: int) -> None:
    stream = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n\r\n"
    with pytest.raises(ProtocolError):
        feed_all(split_at(stream, [len(stream) - 3] if feeds == 2 else []))


@pytest.mark.parametrize(
    "stream",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
    ids=["nothing", "mid-head", "mid-length", "mid-chunk", "between-chunks", "mid-trailers", "1xx"],
)
def test_eof_before_the_response_is_complete_is_a_protocol_error(stream: bytes) -> None:
    parser = ResponseParser()
    parser.feed(stream)
    with pytest.raises(ProtocolError):
        parser.feed_eof()


# Numbers follow the HTTP grammar exactly (RFC 9112 §6.3, §7.1; RFC 9110 §15): Python's int()
# also takes signs, underscores and a 0x prefix, which another parser would read differently.


@pytest.mark.parametrize("size", [b"0x3", b"+3", b"0_3"])
def test_chunk_size_is_hex_digits_only(size: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + size
            + b"\r\nabc\r\n0\r\n\r\n"
        )


@pytest.mark.parametrize("length", [b"+3", b"0_3"])
def test_content_length_is_decimal_digits_only(length: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\nabc")


@pytest.mark.parametrize("status", [b"2_00", b"+200"])
def test_status_code_is_three_digits_only(status: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(b"HTTP/1.1 " + status + b" OK\r\nContent-Length: 0\r\n\r\n")


# RequestTemplate


def test_request_renders_to_exact_bytes() -> None:
    template = RequestTemplate(
        "POST",
        "/v1/chat/completions",
        Origin("http", "127.0.0.1", 8000),
        {"Authorization": "Bearer sk-1", "Content-Type": "application/json"},
    )
    assert template.render(b'{"a":1}') == (
        b"POST /v1/chat/completions HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8000\r\n"
        b"Authorization: Bearer sk-1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 7\r\n"
        b"\r\n"
        b'{"a":1}'
    )


def test_empty_body_is_sent_with_zero_content_length() -> None:
    template = RequestTemplate("GET", "/v1/models", Origin("https", "api.example.com", 443), {})
    assert template.render(b"") == (
        b"GET /v1/models HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 0\r\n\r\n"
    )


@given(body=st.binary(max_size=2000))
def test_one_template_renders_any_body_with_its_length(body: bytes) -> None:
    template = RequestTemplate("POST", "/x", Origin("http", "h", 80), {"A": "b"})
    rendered = template.render(body)
    head, _, rest = rendered.partition(b"\r\n\r\n")
    assert rest == body
    assert head == f"POST /x HTTP/1.1\r\nHost: h\r\nA: b\r\nContent-Length: {len(body)}".encode()


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (Origin("http", "example.com", 80), "example.com"),
        (Origin("https", "example.com", 443), "example.com"),
        (Origin("http", "example.com", 443), "example.com:443"),
        (Origin("https", "example.com", 80), "example.com:80"),
        (Origin("http", "10.0.0.7", 8000), "10.0.0.7:8000"),
        (Origin("http", "::1", 8080), "[::1]:8080"),
        (Origin("https", "2001:db8::1", 443), "[2001:db8::1]"),
    ],
)
def test_host_header_omits_the_default_port_and_brackets_ipv6(origin: Origin, host: str) -> None:
    assert origin.host_header == host
    rendered = RequestTemplate("GET", "/", origin, {}).render(b"")
    assert rendered.split(b"\r\n")[1] == f"Host: {host}".encode()


@pytest.mark.parametrize("name", ["Host", "content-length", "CONNECTION", "Transfer-Encoding"])
def test_user_supplied_framing_headers_are_dropped(name: str) -> None:
    template = RequestTemplate(
        "POST", "/", Origin("http", "real.example", 80), {name: "evil", "X-Kept": "1"}
    )
    assert template.render(b"abc") == (
        b"POST / HTTP/1.1\r\nHost: real.example\r\nX-Kept: 1\r\nContent-Length: 3\r\n\r\nabc"
    )


@given(
    prefix=st.text(alphabet=_value_chars, max_size=5),
    breaker=st.sampled_from(["\r", "\n", "\r\n", "\0"]),
    suffix=st.text(alphabet=_value_chars, max_size=5),
)
def test_header_values_with_line_breaks_are_rejected(
    prefix: str, breaker: str, suffix: str
) -> None:
    with pytest.raises(ValueError, match="invalid header"):
        RequestTemplate("GET", "/", Origin("http", "h", 80), {"X": prefix + breaker + suffix})


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET\r\nX: y", "/", {}),
        ("GET", "/\r\nX: y", {}),
        ("GET", "/", {"X\r\nY": "z"}),
        ("", "/", {}),
        ("GET", "", {}),
    ],
    ids=["method", "target", "header-name", "empty-method", "empty-target"],
)
def test_request_line_and_header_names_with_line_breaks_are_rejected(
    method: str, target: str, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="invalid"):
        RequestTemplate(method, target, Origin("http", "h", 80), headers)


# split_url


@pytest.mark.parametrize(
    ("url", "origin", "path"),
    [
        ("http://example.com/v1", Origin("http", "example.com", 80), "/v1"),
        ("http://example.com/v1/", Origin("http", "example.com", 80), "/v1"),
        ("https://api.example.com/v1", Origin("https", "api.example.com", 443), "/v1"),
        ("http://127.0.0.1:8000/v1", Origin("http", "127.0.0.1", 8000), "/v1"),
        ("https://h:8443/a/b/", Origin("https", "h", 8443), "/a/b"),
        ("http://[::1]:8080/v1", Origin("http", "::1", 8080), "/v1"),
        ("http://example.com", Origin("http", "example.com", 80), ""),
        ("http://example.com/", Origin("http", "example.com", 80), ""),
    ],
)
def test_split_url_gives_origin_and_path_without_trailing_slash(
    url: str, origin: Origin, path: str
) -> None:
    assert split_url(url) == (origin, path)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/v1", "example.com/v1", "http:///v1", "", "http://h:99999/"]
)
def test_split_url_rejects_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the cause
        split_url(url)


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(["example.com", "10.1.2.3", "::1", "fe80::2"]),
    port=st.integers(1, 65535),
)
def test_split_url_reads_back_the_host_header_of_an_origin(
    scheme: Literal["http", "https"], host: str, port: int
) -> None:
    origin = Origin(scheme, host, port)
    assert split_url(f"{scheme}://{origin.host_header}/v1") == (origin, "/v1")
