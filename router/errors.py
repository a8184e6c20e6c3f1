"""The gateway's error hierarchy: every failure a client can see is one of these.

Handlers and backends raise; `router.api.errors` turns them into the spec's JSON shape once.
"""

from __future__ import annotations


class GatewayError(Exception):
    """An error with the HTTP status, OpenAI error type and code the client receives."""

    status = 500
    type = "api_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.retry_after_s = retry_after_s

    def to_body(self) -> dict[str, object]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_parameter"


class AuthenticationFailed(GatewayError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "invalid_request_error"
    code = "permission_denied"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(GatewayError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class ServiceUnavailable(GatewayError):
    status = 503
    type = "api_error"
    code = "service_unavailable"


class BackendError(GatewayError):
    """A backend failed to serve a request; `is_retryable` says whether another route may."""

    status = 502
    type = "api_error"
    code = "upstream_error"
    is_retryable = True


class BackendUnreachable(BackendError):
    code = "upstream_unreachable"


class BackendTimeout(BackendError):
    status = 504
    code = "upstream_timeout"


class BackendOutOfRotation(BackendError):
    """The backend is held back (circuit open, 429 cooldown, drained): try another route."""

    status = 503
    code = "backend_unavailable"


class BackendRejected(BackendError):
    """The backend answered with a 4xx: the request itself is at fault, so it is passed on."""

    type = "invalid_request_error"
    code = "upstream_rejected"
    is_retryable = False


class BackendRateLimited(BackendError):
    status = 429
    type = "rate_limit_error"
    code = "upstream_rate_limited"
