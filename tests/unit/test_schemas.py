"""Chat request validation: what OpenAI accepts is accepted; a mistake names the exact parameter."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from router.schemas import ChatCompletionRequest, describe_validation_error

BASE: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def valid(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({**BASE, **fields})


def rejection(**fields: Any) -> tuple[str, str]:
    """The (param, message) a client is told for a request with these fields."""
    with pytest.raises(ValidationError) as caught:
        ChatCompletionRequest.model_validate({**BASE, **fields})
    return describe_validation_error(caught.value.errors())


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def test_minimal_request_is_valid() -> None:
    request = valid()
    assert request.model == "m"
    assert request.messages[0].role == "user"
    assert request.messages[0].content == "hi"


MULTIMODAL = [
    {"type": "text", "text": "What is in this image?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,"}},
]


def test_multimodal_content_parts_are_accepted() -> None:
    parts = valid(messages=user(MULTIMODAL)).messages[0].content
    assert isinstance(parts, list)
    assert [p.type for p in parts] == ["text", "image_url", "input_audio", "file"]


@pytest.mark.parametrize(
    "message",
    [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": "be brief"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "user", "content": [], "name": "alice"},
    ],
)
def test_every_role_and_message_shape_is_accepted(message: dict[str, Any]) -> None:
    assert valid(messages=[message]).messages[0].role == message["role"]


ACCEPTED: dict[str, list[Any]] = {
    "temperature": [0, 0.7, 1, 2],
    "top_p": [0, 0.5, 1],
    "max_tokens": [1, 100_000],
    "max_completion_tokens": [1],
    "stream": [True, False],
    "stream_options": [{"include_usage": True}],
    "stop": ["\n", [], ["a", "b", "c", "d"]],
    "response_format": [
        {"type": "text"},
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "out-1"}},
    ],
    "tools": [[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]],
    "tool_choice": ["none", "auto", "required", {"type": "function", "function": {"name": "f"}}],
    "parallel_tool_calls": [False],
    "n": [1, 128],
    "seed": [-1, 2**40],
    "presence_penalty": [-2, 2],
    "frequency_penalty": [0.5],
    "logit_bias": [{"50256": -100, "1": 100}],
    "logprobs": [True],
    "top_logprobs": [0, 20],
    "user": ["u-1"],
}


@pytest.mark.parametrize(
    ("name", "value"), [(k, v) for k, values in ACCEPTED.items() for v in values], ids=repr
)
def test_values_within_range_are_accepted(name: str, value: Any) -> None:
    request = valid(**{name: value})
    assert request.model_dump(by_alias=True, exclude_none=True)[name] == value
    assert request.model_extra == {}


def test_int_temperature_is_kept_as_a_number() -> None:
    assert valid(temperature=1).temperature == 1.0


def test_json_schema_keeps_its_schema_under_the_schema_key() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    format_ = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": schema, "strict": True},
    }
    dumped = valid(response_format=format_).model_dump(by_alias=True, exclude_none=True)
    assert dumped["response_format"]["json_schema"]["schema"] == schema


def test_unknown_top_level_fields_are_allowed_and_preserved() -> None:
    request = valid(top_k=40, repetition_penalty=1.1, transforms=["middle-out"])
    assert request.model_extra == {
        "top_k": 40,
        "repetition_penalty": 1.1,
        "transforms": ["middle-out"],
    }
    assert request.model_dump()["top_k"] == 40


def test_unknown_fields_inside_messages_and_parts_are_preserved() -> None:
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "x", "cache_control": {}}],
        "reasoning_content": "hmm",
    }
    dumped = valid(messages=[message]).model_dump(exclude_none=True)["messages"][0]
    assert dumped["reasoning_content"] == "hmm"
    assert dumped["content"][0]["cache_control"] == {}


REJECTIONS = [
    ({"model": ""}, "model", "at least 1 character"),
    ({"model": 5}, "model", "valid string"),
    ({"messages": []}, "messages", "at least 1 item"),
    ({"messages": "hi"}, "messages", "valid list"),
    ({"messages": [5]}, "messages[0]", "valid dictionary"),
    ({"messages": [{"content": "x"}]}, "messages[0].role", "Field required"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'user'"),
    ({"messages": user(5)}, "messages[0].content", "valid string"),
    ({"messages": user([{"type": "video"}])}, "messages[0].content[0]", "'type' must be one of"),
    ({"messages": user([{"text": "x"}])}, "messages[0].content[0]", "'type' must be one of"),
    ({"messages": user([{"type": "text", "text": 5}])}, "messages[0].content[0].text", "string"),
    (
        {"messages": user([{"type": "image_url", "image_url": {"url": ""}}])},
        "messages[0].content[0].image_url.url",
        "at least 1 character",
    ),
    (
        {"messages": user([{"type": "text", "text": "a"}, {"type": "image_url"}])},
        "messages[0].content[1].image_url",
        "Field required",
    ),
    (
        {"messages": user([{"type": "image_url", "image_url": {"url": "u", "detail": "max"}}])},
        "messages[0].content[0].image_url.detail",
        "'auto', 'low' or 'high'",
    ),
    (
        {"messages": user([{"type": "input_audio", "input_audio": {"data": "x"}}])},
        "messages[0].content[0].input_audio.format",
        "Field required",
    ),
    ({"messages": user([{"type": "file", "file": "x"}])}, "messages[0].content[0].file", "dict"),
    (
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f"}}],
                }
            ]
        },
        "messages[0].tool_calls[0].function.arguments",
        "Field required",
    ),
    ({"temperature": "1"}, "temperature", "valid number"),
    ({"temperature": True}, "temperature", "valid number"),
    ({"temperature": 2.1}, "temperature", "less than or equal to 2"),
    ({"temperature": -0.1}, "temperature", "greater than or equal to 0"),
    ({"temperature": float("nan")}, "temperature", "less than or equal to 2"),
    ({"top_p": 1.01}, "top_p", "less than or equal to 1"),
    ({"top_p": -0.01}, "top_p", "greater than or equal to 0"),
    ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
    ({"max_tokens": 1.0}, "max_tokens", "valid integer"),
    ({"max_tokens": True}, "max_tokens", "valid integer"),
    ({"max_completion_tokens": 0}, "max_completion_tokens", "greater than or equal to 1"),
    ({"stream": "yes"}, "stream", "valid boolean"),
    ({"stream": 1}, "stream", "valid boolean"),
    ({"stream_options": []}, "stream_options", "valid dictionary"),
    ({"stream_options": {"include_usage": "x"}}, "stream_options.include_usage", "boolean"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4 items"),
    ({"stop": 5}, "stop", "valid string"),
    ({"stop": [1]}, "stop[0]", "valid string"),
    ({"response_format": {"type": "xml"}}, "response_format", "'type' must be one of"),
    ({"response_format": "json"}, "response_format", "'type' must be one of"),
    ({"response_format": {"type": "json_schema"}}, "response_format.json_schema", "required"),
    (
        {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
        "response_format.json_schema.name",
        "Field required",
    ),
    (
        {"response_format": {"type": "json_schema", "json_schema": {"name": "bad name"}}},
        "response_format.json_schema.name",
        "pattern",
    ),
    ({"response_format": {"type": "text", "x": 1}}, "response_format.x", "Extra inputs"),
    ({"tools": {}}, "tools", "valid list"),
    ({"tools": [{"type": "function"}]}, "tools[0].function", "Field required"),
    ({"tools": [{"type": "retrieval", "function": {"name": "f"}}]}, "tools[0].type", "'function'"),
    *[
        (
            {"tools": [{"type": "function", "function": {"name": name}}]},
            "tools[0].function.name",
            "pattern",
        )
        for name in ["", "has space", "dotted.name", "a" * 65]
    ],
    ({"tool_choice": "sometimes"}, "tool_choice", "'none', 'auto' or 'required'"),
    ({"tool_choice": {"type": "function"}}, "tool_choice.function", "Field required"),
    (
        {"tool_choice": {"type": "function", "function": {}}},
        "tool_choice.function.name",
        "required",
    ),
    ({"tool_choice": {"type": "web", "function": {"name": "f"}}}, "tool_choice.type", "'function'"),
    ({"n": 0}, "n", "greater than or equal to 1"),
    ({"n": 129}, "n", "less than or equal to 128"),
    ({"seed": "1"}, "seed", "valid integer"),
    ({"seed": True}, "seed", "valid integer"),
    ({"presence_penalty": 2.5}, "presence_penalty", "less than or equal to 2"),
    ({"frequency_penalty": -3}, "frequency_penalty", "greater than or equal to -2"),
    ({"logit_bias": {"1": 101}}, "logit_bias", "less than or equal to 100"),
    ({"logit_bias": {"1": "x"}}, "logit_bias", "valid number"),
    ({"logit_bias": []}, "logit_bias", "valid dictionary"),
    ({"logprobs": "true"}, "logprobs", "valid boolean"),
    ({"top_logprobs": 21}, "top_logprobs", "less than or equal to 20"),
    ({"top_logprobs": -1}, "top_logprobs", "greater than or equal to 0"),
    ({"user": 5}, "user", "valid string"),
]


@pytest.mark.parametrize(("fields", "param", "message"), REJECTIONS, ids=lambda v: repr(v)[:60])
def test_a_mistake_names_the_exact_parameter(
    fields: dict[str, Any], param: str, message: str
) -> None:
    described_param, described_message = rejection(**fields)
    assert described_param == param
    assert message in described_message


def test_missing_model_names_model() -> None:
    with pytest.raises(ValidationError) as caught:
        ChatCompletionRequest.model_validate({"messages": BASE["messages"]})
    assert describe_validation_error(caught.value.errors()) == ("model", "Field required")


def test_describing_no_errors_gives_a_generic_message() -> None:
    assert describe_validation_error([]) == ("", "Invalid request")


def test_the_deepest_error_is_described() -> None:
    errors = [
        {"loc": ("a",), "type": "missing", "msg": "shallow"},
        {"loc": ("a", 0, "b"), "type": "string_type", "msg": "deep"},
    ]
    assert describe_validation_error(errors) == ("a[0].b", "deep")


def test_on_equal_depth_a_broken_constraint_beats_a_type_mismatch() -> None:
    errors = [
        {"loc": ("stop", "str"), "type": "string_type", "msg": "not a string"},
        {"loc": ("stop", "list[str]"), "type": "too_long", "msg": "too long"},
    ]
    assert describe_validation_error(errors) == ("stop", "too long")


def test_union_branch_names_never_appear_in_the_param() -> None:
    errors = [
        {"loc": ("x", "NamedToolChoice", "literal['a']", "int", "y"), "type": "m", "msg": "m"}
    ]
    assert describe_validation_error(errors)[0] == "x.y"
