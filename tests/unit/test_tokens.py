"""Local token counts (tiktoken cl100k_base) for backends that report no usage."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.tokens import (
    CHARS_PER_TOKEN,
    TOKENS_PER_MESSAGE,
    count_prompt_tokens,
    count_text_tokens,
    estimate_prompt_tokens,
)

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4000}}
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hi", 1),
        ("Hello world", 2),
        ("Hello, world!", 4),
        ("The quick brown fox jumps over the lazy dog.", 10),
    ],
)
def test_text_is_counted_with_cl100k(text: str, expected: int) -> None:
    assert count_text_tokens(text) == expected


def test_special_token_text_is_counted_as_plain_text() -> None:
    # A client may send the literal text of a special token; it must count, not raise.
    assert count_text_tokens("<|endoftext|>") == 7


def test_text_message_is_its_tokens_plus_framing() -> None:
    messages = [{"role": "user", "content": "Hello world"}]
    assert count_prompt_tokens(messages) == TOKENS_PER_MESSAGE + 2


def test_every_message_adds_its_framing() -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "hi"},
    ]
    assert count_prompt_tokens(messages) == 2 * TOKENS_PER_MESSAGE + 4 + 1


def test_multimodal_content_counts_only_its_text_parts() -> None:
    content = [
        {"type": "text", "text": "What is in this image?"},
        IMAGE,
        {"type": "text", "text": "Describe it."},
    ]
    assert count_prompt_tokens([{"role": "user", "content": content}]) == TOKENS_PER_MESSAGE + 6 + 3


def test_tool_calls_count_their_name_and_arguments() -> None:
    message = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
    assert count_prompt_tokens([message]) == TOKENS_PER_MESSAGE + 2 + 6


def test_tool_calls_add_to_the_content_of_the_same_message() -> None:
    message = {"role": "assistant", "content": "hi", "tool_calls": [TOOL_CALL, TOOL_CALL]}
    assert count_prompt_tokens([message]) == TOKENS_PER_MESSAGE + 1 + 2 * (2 + 6)


@pytest.mark.parametrize("messages", [None, "hello", {"role": "user"}, 42])
def test_a_prompt_that_is_not_a_list_counts_zero(messages: Any) -> None:
    assert count_prompt_tokens(messages) == 0
    assert estimate_prompt_tokens(messages) == 0


@pytest.mark.parametrize(
    "message",
    [
        "not a dict",
        {"role": "user"},
        {"role": "user", "content": None},
        {"role": "user", "content": 5},
        {"role": "user", "content": [IMAGE, "loose string", {"type": "text", "text": 7}]},
        {"role": "assistant", "tool_calls": ["not a dict", {"function": "not a dict"}]},
    ],
)
def test_malformed_messages_count_only_their_framing(message: Any) -> None:
    assert count_prompt_tokens([message]) == TOKENS_PER_MESSAGE


def test_empty_prompt_counts_zero() -> None:
    assert count_prompt_tokens([]) == 0
    assert estimate_prompt_tokens([]) == 0


def test_estimate_is_characters_over_four_plus_framing() -> None:
    messages = [
        {"role": "user", "content": "a" * 40},
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
    ]
    text_chars = 40 + len("get_weather") + len('{"location": "Paris"}')
    expected = text_chars // CHARS_PER_TOKEN + 2 * TOKENS_PER_MESSAGE
    assert estimate_prompt_tokens(messages) == expected


def test_estimate_ignores_image_payloads() -> None:
    with_image = [{"role": "user", "content": [{"type": "text", "text": "hi"}, IMAGE]}]
    text_only = [{"role": "user", "content": "hi"}]
    assert estimate_prompt_tokens(with_image) == estimate_prompt_tokens(text_only)


@given(text=st.text(max_size=200), more=st.text(min_size=1, max_size=200))
def test_estimate_grows_with_text_length(text: str, more: str) -> None:
    shorter = estimate_prompt_tokens([{"role": "user", "content": text}])
    longer = estimate_prompt_tokens([{"role": "user", "content": text + more}])
    assert longer >= shorter
    assert estimate_prompt_tokens([{"role": "user", "content": text + "x" * 400}]) > shorter


@settings(deadline=None)
@given(a=st.text(max_size=100), b=st.text(max_size=100))
def test_prompt_count_is_the_sum_of_its_messages(a: str, b: str) -> None:
    first = [{"role": "user", "content": a}]
    second = [{"role": "assistant", "content": b}]
    assert count_prompt_tokens(first + second) == (
        count_prompt_tokens(first) + count_prompt_tokens(second)
    )
    assert count_prompt_tokens(first) == TOKENS_PER_MESSAGE + count_text_tokens(a)


@settings(deadline=None)
@given(text=st.text(max_size=300))
def test_a_nonempty_text_counts_at_least_one_token(text: str) -> None:
    count = count_text_tokens(text)
    assert (count == 0) == (text == "")
    assert count <= len(text.encode("utf-8"))
