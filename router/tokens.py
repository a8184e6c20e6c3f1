"""Counting tokens when a backend reports no usage (some servers omit it, especially in streams).

Uses tiktoken's cl100k_base encoding, read offline from the copy bundled with litellm when present,
else a characters-per-token estimate. Called only off the request path, by the ledger writer.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
# Per-message framing tokens (role markers and separators) in chat templates.
TOKENS_PER_MESSAGE = 4


class _Encoding(Protocol):
    def encode(self, text: str, *, disallowed_special: Any = ...) -> list[int]: ...


@cache
def _encoding() -> _Encoding | None:
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        spec = importlib.util.find_spec("litellm")
        if spec is not None and spec.submodule_search_locations:
            bundled = Path(next(iter(spec.submodule_search_locations)))
            os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled / "litellm_core_utils" / "tokenizers")
    try:
        import tiktoken

        encoding: _Encoding = tiktoken.get_encoding("cl100k_base")
        return encoding
    except Exception as exc:  # no network and no bundled copy: estimate instead
        log.warning("tokenizer unavailable, estimating token counts from length: %s", exc)
        return None


def count_text_tokens(text: str) -> int:
    encoding = _encoding()
    if encoding is None:
        return -(-len(text) // CHARS_PER_TOKEN)
    return len(encoding.encode(text, disallowed_special=()))


def _message_text(message: Any) -> Iterable[str]:
    if not isinstance(message, dict):
        return
    content = message.get("content")
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            yield str(function.get("name", ""))
            yield str(function.get("arguments", ""))


def count_prompt_tokens(messages: Any) -> int:
    """Tokens of a chat prompt: its text content plus per-message framing."""
    if not isinstance(messages, list):
        return 0
    total = 0
    for message in messages:
        total += TOKENS_PER_MESSAGE + sum(count_text_tokens(t) for t in _message_text(message))
    return total


def estimate_prompt_tokens(messages: Any) -> int:
    """A cheap estimate for routing decisions, without running the tokenizer."""
    if not isinstance(messages, list):
        return 0
    chars = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)  # the common case, kept off the generic path below
        else:
            chars += sum(len(t) for t in _message_text(message))
    return chars // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE * len(messages)
