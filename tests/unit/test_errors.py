"""The error hierarchy: each failure carries the status, OpenAI type and code a client sees."""

from __future__ import annotations

import pytest

from router.errors import (
    AuthenticationFailed,
    BackendError,
    BackendRateLimited,
    BackendRejected,
    BackendTimeout,
    BackendUnreachable,
    GatewayError,
    InvalidRequest,
    MethodNotAllowed,
    ModelNotFound,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
)

HIERARCHY = [
    (GatewayError, 500, "api_error", "internal_error"),
    (InvalidRequest, 400, "invalid_request_error", "invalid_parameter"),
    (AuthenticationFailed, 401, "invalid_request_error", "invalid_api_key"),
    (NotFound, 404, "invalid_request_error", "not_found"),
    (ModelNotFound, 404, "invalid_request_error", "model_not_found"),
    (MethodNotAllowed, 405, "invalid_request_error", "method_not_allowed"),
    (PayloadTooLarge, 413, "invalid_request_error", "request_too_large"),
    (RateLimited, 429, "rate_limit_error", "rate_limit_exceeded"),
    (ServiceUnavailable, 503, "api_error", "service_unavailable"),
    (BackendError, 502, "api_error", "upstream_error"),
    (BackendUnreachable, 502, "api_error", "upstream_unreachable"),
    (BackendTimeout, 504, "api_error", "upstream_timeout"),
    (BackendRejected, 502, "invalid_request_error", "upstream_rejected"),
    (BackendRateLimited, 429, "rate_limit_error", "upstream_rate_limited"),
]


@pytest.mark.parametrize(("cls", "status", "type_", "code"), HIERARCHY, ids=lambda v: str(v))
def test_each_error_carries_its_status_type_and_code(
    cls: type[GatewayError], status: int, type_: str, code: str
) -> None:
    error = cls("went wrong")
    assert (error.status, error.type, error.code) == (status, type_, code)
    assert isinstance(error, GatewayError)
    assert str(error) == "went wrong"


@pytest.mark.parametrize(("cls", "status", "type_", "code"), HIERARCHY, ids=lambda v: str(v))
def test_to_body_is_the_openai_error_shape(
    cls: type[GatewayError], status: int, type_: str, code: str
) -> None:
    body = cls("bad thing", param="messages[0].content").to_body()
    assert body == {
        "error": {
            "message": "bad thing",
            "type": type_,
            "code": code,
            "param": "messages[0].content",
        }
    }


def test_param_defaults_to_none_in_the_body() -> None:
    assert InvalidRequest("x").to_body()["error"] == {
        "message": "x",
        "type": "invalid_request_error",
        "code": "invalid_parameter",
        "param": None,
    }


def test_code_and_status_can_be_overridden_per_instance() -> None:
    error = BackendRejected("too long", code="context_length_exceeded", status=400)
    assert (error.status, error.code) == (400, "context_length_exceeded")
    assert error.to_body()["error"]["code"] == "context_length_exceeded"


def test_overriding_an_instance_leaves_the_class_defaults_alone() -> None:
    InvalidRequest("x", code="other", status=422)
    fresh = InvalidRequest("y")
    assert (fresh.status, fresh.code) == (400, "invalid_parameter")


def test_retry_after_is_kept_and_defaults_to_none() -> None:
    assert RateLimited("slow down", retry_after_s=2.5).retry_after_s == 2.5
    assert RateLimited("slow down").retry_after_s is None


@pytest.mark.parametrize(
    ("cls", "is_retryable"),
    [
        (BackendError, True),
        (BackendUnreachable, True),
        (BackendTimeout, True),
        (BackendRateLimited, True),
        (BackendRejected, False),
    ],
)
def test_only_rejections_by_the_backend_are_not_retried(
    cls: type[BackendError], is_retryable: bool
) -> None:
    assert cls("x").is_retryable is is_retryable


def test_model_not_found_is_a_not_found() -> None:
    assert issubclass(ModelNotFound, NotFound)


@pytest.mark.parametrize(
    "cls", [BackendUnreachable, BackendTimeout, BackendRejected, BackendRateLimited]
)
def test_backend_failures_are_backend_errors(cls: type[GatewayError]) -> None:
    assert issubclass(cls, BackendError)
