"""Builds the configured backends; litellm's module is only touched if one needs it."""

from __future__ import annotations

import os

from router.backends.base import Backend
from router.backends.openai_compat import OpenAICompatibleBackend
from router.config import BackendConfig, GatewayConfig
from router.upstream import UpstreamPool


def api_key_of(config: BackendConfig) -> str | None:
    return os.environ.get(config.api_key_env) if config.api_key_env else None


def build_backends(config: GatewayConfig, pool: UpstreamPool) -> dict[str, Backend]:
    backends: dict[str, Backend] = {}
    for backend in config.backends:
        if backend.type == "openai":
            backends[backend.name] = OpenAICompatibleBackend(backend, pool, api_key_of(backend))
        else:
            from router.backends.litellm_backend import LiteLLMBackend

            backends[backend.name] = LiteLLMBackend(backend, api_key_of(backend))
    return backends
