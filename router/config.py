"""The YAML configuration: backends, and the public models routed to them.

`load_config` returns a validated `GatewayConfig` or raises `ConfigError` whose message is one line
naming the offending field, which the CLI prints instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from policies import registered_policies

Locality = Literal["local", "cloud"]


class ConfigError(Exception):
    """The configuration cannot be used; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CircuitBreakerConfig(_Strict):
    enabled: bool = True
    """Whether failures and 429s take the backend out of rotation for a while."""
    failure_threshold: Annotated[int, Field(ge=1)] = 5
    """Consecutive failures that open the breaker."""
    error_rate_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Share of the last 20 outcomes that, once failed, opens the breaker."""
    cooldown_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    """How long the backend stays out before one probe request is let through (doubling)."""


class BackendConfig(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]
    type: Literal["openai", "litellm"]
    base_url: HttpUrl | None = None
    """For `openai` backends: the URL that `/chat/completions` is appended to.
    For `litellm` backends: an optional `api_base` override."""
    provider: str | None = None
    api_key_env: str | None = None
    """The environment variable holding the backend's API key, read at start-up."""
    locality: Locality = "local"
    max_concurrency: Annotated[int, Field(ge=1)] = 64
    connect_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    read_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    """The longest silence tolerated between two reads from the backend."""
    headers: dict[str, str] = {}
    """Extra headers sent with every request to this backend."""
    tls_ca_file: str | None = None
    """CA bundle to verify an https backend against, instead of the system's."""
    circuit_breaker: CircuitBreakerConfig = CircuitBreakerConfig()

    @model_validator(mode="after")
    def _check_type_fields(self) -> BackendConfig:
        if self.type == "openai" and self.base_url is None:
            raise ValueError("base_url is required for an 'openai' backend")
        if self.type == "litellm" and not self.provider:
            raise ValueError("provider is required for a 'litellm' backend")
        return self


class RouteCost(_Strict):
    """Price of a route in USD per 1M tokens, and per request."""

    prompt: Annotated[float, Field(ge=0)] = 0.0
    completion: Annotated[float, Field(ge=0)] = 0.0
    request: Annotated[float, Field(ge=0)] = 0.0


class RouteConfig(_Strict):
    backend: str
    model: Annotated[str, Field(min_length=1)]
    cost: RouteCost = RouteCost()
    supports_vision: bool = True
    supports_tools: bool = True
    supports_json: bool = True
    weight: Annotated[float, Field(ge=0)] = 1.0
    """For the `weighted` policy."""


class ArchitectureConfig(_Strict):
    modality: str = "text->text"
    tokenizer: str = "other"
    instruct_type: str | None = None


class ModelConfig(_Strict):
    id: Annotated[str, Field(min_length=1)]
    context_length: Annotated[int, Field(ge=1)] = 8192
    routes: Annotated[list[RouteConfig], Field(min_length=1)]
    owned_by: str = "system"
    architecture: ArchitectureConfig = ArchitectureConfig()
    pricing: RouteCost | None = None
    """What `/v1/models` advertises, USD per 1M tokens; the first route's cost when absent."""
    policy: str | None = None
    """The routing policy for this model; the gateway's `default_policy` when absent."""

    @property
    def public_pricing(self) -> RouteCost:
        return self.pricing if self.pricing is not None else self.routes[0].cost


class GatewayConfig(_Strict):
    backends: Annotated[list[BackendConfig], Field(min_length=1)]
    models: Annotated[list[ModelConfig], Field(min_length=1)]
    default_policy: str = "local-first"

    @model_validator(mode="after")
    def _check_references(self) -> GatewayConfig:
        _reject_duplicates("backends", [b.name for b in self.backends], "name")
        _reject_duplicates("models", [m.id for m in self.models], "id")
        names = {b.name for b in self.backends}
        policies = registered_policies()
        known = ", ".join(sorted(policies))
        if self.default_policy not in policies:
            raise _FieldError("default_policy", f"unknown policy {self.default_policy!r} ({known})")
        for i, model in enumerate(self.models):
            if model.policy is not None and model.policy not in policies:
                raise _FieldError(
                    f"models[{i}].policy", f"unknown policy {model.policy!r} ({known})"
                )
            for j, route in enumerate(model.routes):
                if route.backend not in names:
                    known = ", ".join(sorted(names))
                    raise _FieldError(
                        f"models[{i}].routes[{j}].backend",
                        f"unknown backend {route.backend!r} (configured: {known})",
                    )
        return self

    def backend(self, name: str) -> BackendConfig:
        return next(b for b in self.backends if b.name == name)


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _reject_duplicates(section: str, values: list[str], key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise _FieldError(f"{section}[{i}].{key}", f"duplicate {key} {value!r}")
        seen.add(value)


def _format_location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part[0].isupper() and "[" not in part:
            text += f".{part}" if text else part
    return text


def parse_config(data: object, source: str = "config") -> GatewayConfig:
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _format_location(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {where + ': ' if where else ''}{message}") from None


def load_config(path: str | Path) -> GatewayConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(data, str(path))
