"""How loaded a local worker is, read from its Prometheus /metrics text (vLLM or SGLang).

Pure: text in, figures out; the probe loop fetches the text. The parser is lenient, since a
worker's exposition is not ours to fix: a line it cannot read is skipped, never raised on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import NamedTuple

RUNNING_METRICS = frozenset({"vllm:num_requests_running", "sglang:num_running_reqs"})
WAITING_METRICS = frozenset({"vllm:num_requests_waiting", "sglang:num_queue_reqs"})
KV_CACHE_USAGE_METRICS = frozenset(
    # vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc; both are fractions of 1.
    {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"}
)
WORKER_LOAD_METRICS = RUNNING_METRICS | WAITING_METRICS | KV_CACHE_USAGE_METRICS

_NAME = re.compile(r"[ \t]*([a-zA-Z_:][a-zA-Z0-9_:]*)")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*([,}])')
_LABELS_END = re.compile(r"\s*}")
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    """A worker's own view of its load; None where its metrics do not say."""

    running: int | None = None
    waiting: int | None = None
    kv_cache_usage: float | None = None
    """0 to 1."""


class Sample(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float


def parse_worker_load(text: str) -> WorkerLoad:
    """Requests are summed over label sets (engines, models); cache usage is the fullest
    engine's, since a sum of fractions over data-parallel engines would exceed 1."""
    running: list[float] = []
    waiting: list[float] = []
    usage: list[float] = []
    for sample in iter_samples(text, WORKER_LOAD_METRICS):
        if not math.isfinite(sample.value):
            continue
        if sample.name in RUNNING_METRICS:
            running.append(sample.value)
        elif sample.name in WAITING_METRICS:
            waiting.append(sample.value)
        else:
            usage.append(sample.value)
    return WorkerLoad(
        running=_count(running),
        waiting=_count(waiting),
        kv_cache_usage=min(1.0, max(0.0, *usage)) if usage else None,
    )


def iter_samples(text: str, names: Collection[str] | None = None) -> Iterator[Sample]:
    """The samples of an exposition, in order; with `names`, only the samples of those metrics
    (checked before labels are parsed, as a worker's histograms run to thousands of lines)."""
    # Split on LF only: str.splitlines() would also split inside a label value holding U+2028.
    for line in text.split("\n"):
        match = _NAME.match(line)
        if match is None:
            continue  # blank, a comment, HELP or TYPE, or garbage
        name = match.group(1)
        if names is not None and name not in names:
            continue
        sample = _parse_rest(name, line, match.end())
        if sample is not None:
            yield sample


def _parse_rest(name: str, line: str, pos: int) -> Sample | None:
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        pos += 1
        while True:
            end = _LABELS_END.match(line, pos)
            if end is not None:
                pos = end.end()
                break
            label = _LABEL.match(line, pos)
            if label is None:
                return None
            labels[label.group(1)] = _ESCAPE.sub(_unescape, label.group(2))
            pos = label.end()
            if label.group(3) == "}":
                break
    elif pos < len(line) and not line[pos].isspace():
        return None  # the name ran into something a name cannot hold: not a sample line
    # A timestamp, or an OpenMetrics exemplar after "#", may follow the value; neither matters.
    fields = line[pos:].split(maxsplit=1)
    if not fields:
        return None
    try:
        value = float(fields[0])
    except ValueError:
        return None
    return Sample(name, labels, value)


def _unescape(match: re.Match[str]) -> str:
    char = match.group(1)
    return _UNESCAPED.get(char, "\\" + char)


def _count(values: list[float]) -> int | None:
    total = sum(values)
    return max(0, round(total)) if values and math.isfinite(total) else None
