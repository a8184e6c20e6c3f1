"""SSE decoding: any chunking and any of the three line endings give the same events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.sse import DONE_FRAME, SSEDecoder, SSEEvent, frame

LINE_ENDINGS = [b"\n", b"\r\n", b"\r"]

_no_newline_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12
)
_no_newline_bytes = st.binary(max_size=16).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@dataclass(frozen=True)
class Block:
    """One block of the stream: the event it should decode to (None for comments only)."""

    comments: list[str]
    name: str | None
    data_lines: list[bytes]

    @property
    def expected(self) -> SSEEvent | None:
        if not self.data_lines:
            return None
        return SSEEvent(b"\n".join(self.data_lines), self.name)

    def encode(self, ending: bytes) -> bytes:
        lines = [b":" + c.encode() for c in self.comments]
        if self.name is not None:
            lines.append(b"event: " + self.name.encode())
        lines += [b"data: " + line for line in self.data_lines]
        return b"".join(line + ending for line in lines) + ending


_blocks = st.builds(
    Block,
    comments=st.lists(_no_newline_text, max_size=2),
    name=st.none() | _no_newline_text,
    data_lines=st.lists(_no_newline_bytes, max_size=3),
).filter(lambda b: b.comments or b.name is not None or b.data_lines)


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


@pytest.mark.parametrize("ending", LINE_ENDINGS, ids=["lf", "crlf", "cr"])
@given(blocks=st.lists(_blocks, max_size=6), data=st.data())
def test_any_chunking_of_any_line_ending_yields_the_original_events_in_order(
    ending: bytes, blocks: list[Block], data: st.DataObject
) -> None:
    stream = b"".join(block.encode(ending) for block in blocks)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    expected = [b.expected for b in blocks if b.expected is not None]
    assert decode(split_at(stream, cuts)) == expected


@pytest.mark.parametrize("ending", LINE_ENDINGS, ids=["lf", "crlf", "cr"])
@given(blocks=st.lists(_blocks, max_size=6))
def test_byte_at_a_time_feeding_yields_the_same_events_as_one_chunk(
    ending: bytes, blocks: list[Block]
) -> None:
    stream = b"".join(block.encode(ending) for block in blocks) + b"data: tail\n\n"
    whole = decode([stream])
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == whole
    assert whole[-1] == SSEEvent(b"tail")


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # A CR ends a line whether or not a LF follows, so the event is complete here already.
    assert decoder.feed(b"\n\r") == [SSEEvent(b"a")]
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [SSEEvent(b"b")]


def test_empty_chunk_between_cr_and_lf_does_not_double_the_line_ending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [SSEEvent(b"a\nb")]


def test_crlf_split_between_chunks_does_not_end_the_event_early() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r\n") == []
    assert decoder.feed(b"\r\n") == [SSEEvent(b"a\nb")]


def test_lf_terminated_event_is_yielded_as_soon_as_its_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [SSEEvent(b"a")]


def test_cr_terminated_event_is_yielded_without_waiting_for_more_bytes() -> None:
    # A lone CR is a complete line ending; only a following LF would be skipped, never needed.
    assert SSEDecoder().feed(b"data: a\r\r") == [SSEEvent(b"a")]


def test_cr_terminated_final_event_of_a_stream_is_not_lost() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: a\r\r") + decoder.feed(b"data: [DONE]\r\r")
    assert events == [SSEEvent(b"a"), SSEEvent(b"[DONE]")]


def test_multi_line_data_fields_join_with_newline() -> None:
    events = SSEDecoder().feed(b"data: one\ndata: two\ndata:three\n\n")
    assert events == [SSEEvent(b"one\ntwo\nthree")]


def test_event_name_is_attached_to_the_event() -> None:
    events = SSEDecoder().feed(b"event: message_delta\ndata: {}\n\n")
    assert events == [SSEEvent(b"{}", "message_delta")]


def test_comment_lines_are_ignored() -> None:
    events = SSEDecoder().feed(b": keep-alive\ndata: x\n:another\n\n")
    assert events == [SSEEvent(b"x")]


@pytest.mark.parametrize(
    "block",
    [b": ping\n\n", b"event: ping\n\n", b"id: 7\n\n", b"retry: 1000\n\n", b"\n\n"],
    ids=["comment", "event-only", "id-only", "retry-only", "empty"],
)
def test_blocks_without_data_yield_nothing(block: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(block) == []
    assert decoder.feed(b"data: after\n\n") == [SSEEvent(b"after")]


def test_only_one_space_after_the_colon_is_stripped() -> None:
    assert SSEDecoder().feed(b"data:  two spaces\n\n") == [SSEEvent(b" two spaces")]


def test_data_without_space_after_colon_is_the_whole_value() -> None:
    assert SSEDecoder().feed(b"data:x\n\n") == [SSEEvent(b"x")]


def test_data_field_without_colon_is_an_empty_line_of_data() -> None:
    assert SSEDecoder().feed(b"data\n\n") == [SSEEvent(b"")]


def test_empty_data_value_is_an_event_with_empty_data() -> None:
    assert SSEDecoder().feed(b"data: \n\n") == [SSEEvent(b"")]


def test_unknown_fields_are_ignored_but_data_is_kept() -> None:
    assert SSEDecoder().feed(b"id: 3\nfoo: bar\ndata: x\n\n") == [SSEEvent(b"x")]


def test_several_events_in_one_chunk_come_out_in_order() -> None:
    events = SSEDecoder().feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4")
    assert [e.data for e in events] == [b"1", b"2", b"3"]


def test_incomplete_trailing_block_is_kept_for_the_next_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n\ndata: par") == [SSEEvent(b"1")]
    assert decoder.feed(b"tial\n\n") == [SSEEvent(b"partial")]


@given(payload=_no_newline_bytes)
def test_frame_round_trips_through_the_decoder(payload: bytes) -> None:
    assert SSEDecoder().feed(frame(payload)) == [SSEEvent(payload)]


def test_frame_is_a_data_line_and_a_blank_line() -> None:
    assert frame(b'{"a":1}') == b'data: {"a":1}\n\n'


def test_done_frame_decodes_to_the_done_sentinel() -> None:
    assert SSEDecoder().feed(DONE_FRAME) == [SSEEvent(b"[DONE]")]
