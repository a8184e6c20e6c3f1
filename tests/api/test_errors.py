"""Every bad input and every backend failure gets a clear error in the spec's shape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    ANTHROPIC_KEY,
    MAX_BODY_BYTES,
    OPENAI_BACKEND_KEY,
    REQUEST_TIMEOUT_S,
    Gateway,
)

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
def http(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=gateway.headers, timeout=30) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str, param: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["code"] == code, error
    assert error["param"] == param, error
    assert error["type"] in {"invalid_request_error", "api_error", "rate_limit_error"}
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    message: str = error["message"]
    assert message
    return message


def chat(http: httpx.Client, body: Any) -> httpx.Response:
    return http.post("/v1/chat/completions", json=body)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"stream": "yes"}, "stream"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": 5}, "stop"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools[0].function.name",
        ),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"n": 0}, "n"),
        ({"presence_penalty": 3}, "presence_penalty"),
        ({"top_logprobs": 21}, "top_logprobs"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages[0].content[0]",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content[0].image_url.url",
        ),
        ({"model": 7}, "model"),
    ],
)
def test_invalid_parameters_are_400_naming_the_field(
    http: httpx.Client, change: dict[str, Any], param: str
) -> None:
    message = assert_error(
        chat(http, {"model": "chat", "messages": HELLO, **change}), 400, "invalid_parameter", param
    )
    assert param in message


def test_missing_model_is_400(http: httpx.Client) -> None:
    assert_error(chat(http, {"messages": HELLO}), 400, "invalid_parameter", "model")


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe"], ids=repr)
def test_body_that_is_not_a_json_object_is_400(http: httpx.Client, body: bytes) -> None:
    response = http.post(
        "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")


def test_unknown_model_is_404(http: httpx.Client) -> None:
    message = assert_error(
        chat(http, {"model": "gpt-9", "messages": HELLO}), 404, "model_not_found", "model"
    )
    assert "gpt-9" in message


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
def test_missing_or_invalid_key_is_401(gateway: Gateway, headers: dict[str, str]) -> None:
    for path, method in (("/v1/chat/completions", "POST"), ("/v1/models", "GET")):
        response = httpx.request(
            method, gateway.url + path, headers=headers, json={"model": "chat", "messages": HELLO}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] in {"invalid_api_key", "missing_api_key"}


def test_unknown_path_is_404(http: httpx.Client) -> None:
    assert_error(http.get("/v1/engines"), 404, "not_found")
    assert_error(http.post("/nothing/here", json={}), 404, "not_found")


def test_wrong_method_is_405(http: httpx.Client) -> None:
    assert_error(http.get("/v1/chat/completions"), 405, "method_not_allowed")


def test_body_too_large_is_413(http: httpx.Client) -> None:
    big = {"model": "chat", "messages": [{"role": "user", "content": "x" * MAX_BODY_BYTES}]}
    assert_error(chat(http, big), 413, "request_too_large")


def test_backend_server_error_is_502(http: httpx.Client) -> None:
    message = assert_error(
        chat(http, {"model": "error-500", "messages": HELLO}), 502, "upstream_error"
    )
    assert "fake" in message


def test_backend_rejection_is_passed_on_in_our_shape(http: httpx.Client) -> None:
    message = assert_error(
        chat(http, {"model": "error-400", "messages": HELLO}), 400, "upstream_rejected"
    )
    assert "scripted failure 400" in message


def test_backend_rate_limit_is_429_with_retry_after(http: httpx.Client) -> None:
    response = chat(http, {"model": "error-429", "messages": HELLO})
    assert_error(response, 429, "upstream_rate_limited")
    assert response.headers["Retry-After"] == "7"


def test_backend_credentials_never_reach_the_client(http: httpx.Client) -> None:
    response = chat(http, {"model": "leaky", "messages": HELLO})
    message = assert_error(response, 401, "upstream_rejected")
    assert "scripted failure 401" in message
    assert OPENAI_BACKEND_KEY not in response.text
    assert OPENAI_BACKEND_KEY[-8:] not in response.text
    assert ANTHROPIC_KEY not in response.text


def test_unreachable_backend_is_502(http: httpx.Client) -> None:
    assert_error(
        chat(http, {"model": "unreachable", "messages": HELLO}), 502, "upstream_unreachable"
    )


def test_backend_answer_that_is_not_json_is_502(http: httpx.Client) -> None:
    assert_error(chat(http, {"model": "garbage", "messages": HELLO}), 502, "upstream_error")


def test_silent_backend_times_out_on_its_read_timeout(http: httpx.Client) -> None:
    started = time.monotonic()
    assert_error(chat(http, {"model": "silent", "messages": HELLO}), 504, "upstream_timeout")
    assert time.monotonic() - started < REQUEST_TIMEOUT_S, "the 1 s read timeout, not the deadline"


def test_hung_backend_is_cut_by_the_request_deadline(http: httpx.Client) -> None:
    started = time.monotonic()
    assert_error(chat(http, {"model": "hang", "messages": HELLO}), 504, "upstream_timeout")
    assert REQUEST_TIMEOUT_S - 0.5 < time.monotonic() - started < REQUEST_TIMEOUT_S + 5


def test_hung_stream_is_cut_before_the_first_byte_with_a_504(http: httpx.Client) -> None:
    response = chat(http, {"model": "silent", "messages": HELLO, "stream": True})
    assert_error(response, 504, "upstream_timeout")
