"""Fake upstream scripts: behaviour read from the model name, and the reply that echoes the user."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.fakes.script import (
    DEFAULT_TOKENS,
    Script,
    count_images,
    last_user_text,
    parse_script,
    prompt_words,
    reply_words,
    tool_arguments,
)

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_documented_example_name_is_parsed() -> None:
    script = parse_script("echo?tokens=3&ttft_ms=5&status=429&retry_after=2&usage=0")
    assert script == Script(
        name="echo", tokens=3, ttft_ms=5.0, status=429, retry_after="2", has_usage=False
    )


def test_plain_name_has_the_defaults() -> None:
    assert parse_script("echo") == Script(name="echo")
    script = parse_script("echo")
    assert script.tokens is None
    assert script.has_usage is True
    assert (script.hang, script.garbage) == (False, False)


def test_stream_faults_and_delays_are_parsed() -> None:
    script = parse_script("slow?token_ms=2.5&stall_after=3&drop_after=4&hang=1&garbage=1")
    assert script.name == "slow"
    assert script.token_ms == 2.5
    assert (script.stall_after, script.drop_after) == (3, 4)
    assert (script.hang, script.garbage) == (True, True)


def test_leak_flag_is_parsed() -> None:
    assert parse_script("echo?leak=1").leak is True
    assert parse_script("echo").leak is False


@pytest.mark.parametrize("value", ["1", "yes", "true", ""])
def test_only_usage_zero_turns_usage_off(value: str) -> None:
    assert parse_script(f"echo?usage={value}").has_usage is True


@pytest.mark.parametrize("value", ["0", "true", "yes"])
def test_flags_are_on_only_when_one(value: str) -> None:
    script = parse_script(f"echo?hang={value}&garbage={value}&leak={value}")
    assert (script.hang, script.garbage, script.leak) == (False, False, False)


def test_unknown_keys_are_ignored() -> None:
    assert parse_script("echo?colour=blue") == Script(name="echo")


def test_name_may_contain_slashes_and_dashes() -> None:
    assert parse_script("org/model-1.5?tokens=2").name == "org/model-1.5"


@given(tokens=st.integers(0, 10_000), status=st.integers(100, 599))
def test_numbers_round_trip_through_the_name(tokens: int, status: int) -> None:
    script = parse_script(f"echo?status={status}&tokens={tokens}")
    assert (script.tokens, script.status) == (tokens, status)


def test_reply_greets_and_echoes_the_last_user_text() -> None:
    words = reply_words(parse_script("echo?tokens=7"), [user("hi there")], None)
    assert words == ["Hello", "from", "echo!", "You", "said:", "hi", "there"]


def test_reply_is_cut_to_the_scripted_length() -> None:
    assert reply_words(parse_script("echo?tokens=3"), [user("hi")], None) == [
        "Hello",
        "from",
        "echo!",
    ]


def test_short_reply_is_padded_to_the_scripted_length() -> None:
    words = reply_words(parse_script("echo?tokens=10"), [user("hi")], None)
    assert words == ["Hello", "from", "echo!", "You", "said:", "hi", "more", "more", "more", "more"]


def test_zero_tokens_is_an_empty_reply() -> None:
    assert reply_words(parse_script("echo?tokens=0"), [user("hi")], 5) == []


LONG = "one two three four five six seven eight nine ten"


@pytest.mark.parametrize(("max_tokens", "expected"), [(None, DEFAULT_TOKENS), (3, 3), (1, 1)])
def test_without_tokens_the_reply_is_cut_to_max_tokens_or_the_default(
    max_tokens: int | None, expected: int
) -> None:
    assert len(reply_words(parse_script("echo"), [user(LONG)], max_tokens)) == expected


def test_without_tokens_a_short_reply_is_not_padded() -> None:
    words = reply_words(parse_script("echo"), [user("hi")], 100)
    assert words == ["Hello", "from", "echo!", "You", "said:", "hi"]


def test_scripted_tokens_override_max_tokens() -> None:
    assert len(reply_words(parse_script("echo?tokens=20"), [user("hi")], 2)) == 20


@given(tokens=st.integers(0, 200), text=st.text(max_size=100))
def test_reply_has_exactly_the_scripted_number_of_words(tokens: int, text: str) -> None:
    words = reply_words(parse_script(f"echo?tokens={tokens}"), [user(text)], None)
    assert len(words) == tokens
    assert all(word and not any(c.isspace() for c in word) for word in words)


def test_reply_counts_one_image() -> None:
    messages = [user([{"type": "text", "text": "what is this"}, IMAGE])]
    text = " ".join(reply_words(parse_script("echo?tokens=20"), messages, None))
    assert text.startswith("Hello from echo! I see 1 image. You said: what is this")


def test_reply_counts_images_across_messages() -> None:
    messages = [user([IMAGE, IMAGE]), {"role": "assistant", "content": "ok"}, user([IMAGE])]
    text = " ".join(reply_words(parse_script("echo?tokens=9"), messages, None))
    assert text == "Hello from echo! I see 3 images. You said:"


def test_reply_without_images_does_not_mention_them() -> None:
    words = reply_words(parse_script("echo?tokens=50"), [user("hi")], None)
    assert "image" not in " ".join(words)


def test_last_user_text_skips_later_assistant_messages() -> None:
    messages = [user("first"), {"role": "assistant", "content": "x"}, user("second"),
                {"role": "assistant", "content": "y"}]  # fmt: skip
    assert last_user_text(messages) == "second"


def test_last_user_text_joins_the_text_parts() -> None:
    content = [{"type": "text", "text": "a b"}, IMAGE, {"type": "text", "text": "c"}]
    assert last_user_text([user(content)]) == "a b c"


@pytest.mark.parametrize(
    "messages", [[], [{"role": "system", "content": "s"}], ["not a dict"], [user(None)]]
)
def test_last_user_text_is_empty_without_user_text(messages: list[Any]) -> None:
    assert last_user_text(messages) == ""


def test_count_images_accepts_openai_and_anthropic_parts() -> None:
    anthropic = {"type": "image", "source": {"type": "base64", "data": "AAAA"}}
    messages = [user([IMAGE, anthropic, {"type": "text", "text": "x"}]), user("no images")]
    assert count_images(messages) == 2


def test_prompt_words_count_words_plus_four_per_message() -> None:
    messages = [
        user("one two three"),
        {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
    ]
    assert prompt_words(messages) == 3 + 4 + 1 + 4
    assert prompt_words(messages, system="be brief") == 3 + 4 + 1 + 4 + 2


def test_tool_arguments_fill_every_required_parameter() -> None:
    parameters = {"type": "object", "required": ["location", "unit"]}
    assert tool_arguments(parameters) == {"location": "Paris", "unit": "example"}


@pytest.mark.parametrize("parameters", [None, {}, {"type": "object"}, "not a dict"])
def test_tool_arguments_without_required_parameters_are_empty(parameters: Any) -> None:
    assert tool_arguments(parameters) == {}
