"""Backends: where a request is finally sent. `build_backends` makes them from the config."""

from router.backends.base import Backend, ChatChunk, ChatResponse
from router.backends.factory import build_backends

__all__ = ["Backend", "ChatChunk", "ChatResponse", "build_backends"]
