"""How a fake upstream answers: the behaviour encoded in a model name, and the reply text.

Model names read like URLs: `NAME?key=value&...`. Keys:
  tokens=N       completion length in words, padded if needed (default: the echo, cut to
                 max_tokens or 8 words)
  ttft_ms=N      delay before the first byte;  token_ms=N  delay between stream chunks
  status=N       answer with this HTTP error;  retry_after=S  with a Retry-After header
  usage=0        report no usage
  stall_after=N  stream N chunks, then go silent;  drop_after=N  stream N, then drop the connection
  hang=1         accept the request and never answer
  garbage=1      answer 200 with a body that is not JSON
  leak=1         put the request's credentials in the error message, as careless servers do
  linger_ms=N    keep a stream's body open for N ms after [DONE]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

DEFAULT_TOKENS = 8


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    tokens: int | None = None
    ttft_ms: float = 0.0
    token_ms: float = 0.0
    status: int | None = None
    retry_after: str | None = None
    has_usage: bool = True
    stall_after: int | None = None
    drop_after: int | None = None
    hang: bool = False
    garbage: bool = False
    leak: bool = False
    linger_ms: float = 0.0


def parse_script(model: str) -> Script:
    name, _, query = model.partition("?")
    values = dict(parse_qsl(query))

    def number(key: str) -> int | None:
        return int(values[key]) if key in values else None

    return Script(
        name=name,
        tokens=number("tokens"),
        ttft_ms=float(values.get("ttft_ms", 0)),
        token_ms=float(values.get("token_ms", 0)),
        status=number("status"),
        retry_after=values.get("retry_after"),
        has_usage=values.get("usage", "1") != "0",
        stall_after=number("stall_after"),
        drop_after=number("drop_after"),
        hang=values.get("hang") == "1",
        garbage=values.get("garbage") == "1",
        leak=values.get("leak") == "1",
        linger_ms=float(values.get("linger_ms", 0)),
    )


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
    return []


def count_images(messages: list[Any]) -> int:
    return sum(
        1
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("content"), list)
        for p in m["content"]
        if isinstance(p, dict) and p.get("type") in ("image_url", "image")
    )


def prompt_words(messages: list[Any], system: Any = None) -> int:
    words = sum(len(t.split()) for t in _texts(system))
    for message in messages:
        if isinstance(message, dict):
            words += sum(len(t.split()) for t in _texts(message.get("content"))) + 4
    return words


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return " ".join(_texts(message.get("content")))
    return ""


def reply_words(script: Script, messages: list[Any], max_tokens: int | None) -> list[str]:
    """The reply: a greeting that echoes the user, cut to max_tokens (8 by default), or exactly
    `tokens` words when the script says so."""
    images = count_images(messages)
    seen = f"I see {images} image{'s' if images != 1 else ''}. " if images else ""
    words = f"Hello from {script.name}! {seen}You said: {last_user_text(messages)}".split()
    if script.tokens is not None:
        words += ["more"] * (script.tokens - len(words))
        return words[: script.tokens]
    return words[: max_tokens or DEFAULT_TOKENS]


def tool_arguments(parameters: Any) -> dict[str, str]:
    """Arguments for a forced tool call: every required parameter filled with an example."""
    required = parameters.get("required", []) if isinstance(parameters, dict) else []
    return {name: "Paris" if name == "location" else "example" for name in required}
