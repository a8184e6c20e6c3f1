"""Rolling statistics of a backend's traffic: smoothed values, recent percentiles, outcome rates.

Pure and allocation-light: recording a sample is O(1), since it happens on every response.
Percentiles sort on demand; they are read by the admin API, not by routing decisions.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Generic, TypeVar

Kind = TypeVar("Kind")


class Ewma:
    """Exponentially weighted moving average; the first sample seeds it."""

    __slots__ = ("alpha", "value")

    def __init__(self, alpha: float) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha = alpha
        self.value: float | None = None

    def update(self, sample: float) -> float:
        value = self.value
        value = sample if value is None else value + self.alpha * (sample - value)
        self.value = value
        return value


class RecentWindow:
    """The last `size` samples, in a fixed ring."""

    __slots__ = ("_next", "_samples", "size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._samples: list[float] = []
        self._next = 0
        """Where the next sample goes once the ring is full: the oldest sample's slot."""

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: float) -> None:
        samples = self._samples
        if len(samples) < self.size:
            samples.append(sample)
            return
        samples[self._next] = sample
        self._next = (self._next + 1) % self.size

    def values(self) -> list[float]:
        """The samples held, oldest first."""
        return self._samples[self._next :] + self._samples[: self._next]

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile (the smallest sample with at least p% of samples at or below
        it), p in [0, 100]; None while empty."""
        if not 0.0 <= p <= 100.0:
            raise ValueError("p must be in [0, 100]")
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        rank = max(1, math.ceil(p * len(ordered) / 100.0))
        return ordered[rank - 1]


class SignalStats:
    """One measured signal (say ttft_ms): its EWMA for routing, its recent samples for display."""

    __slots__ = ("ewma", "recent")

    def __init__(self, *, alpha: float, window: int) -> None:
        self.ewma = Ewma(alpha)
        self.recent = RecentWindow(window)

    def add(self, sample: float) -> None:
        # One NaN or infinity would poison the average for good; drop it instead.
        if math.isfinite(sample):
            self.ewma.update(sample)
            self.recent.add(sample)

    @property
    def value(self) -> float | None:
        return self.ewma.value

    def summary(self) -> dict[str, float | None]:
        return {
            "ewma": self.ewma.value,
            "p50": self.recent.percentile(50),
            "p95": self.recent.percentile(95),
        }


class OutcomeWindow(Generic[Kind]):
    """The kinds of the last `size` outcomes, with each kind's share kept current in O(1)."""

    __slots__ = ("_counts", "_kinds")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._kinds: deque[Kind] = deque(maxlen=size)
        self._counts: dict[Kind, int] = {}

    def __len__(self) -> int:
        return len(self._kinds)

    def add(self, kind: Kind) -> None:
        kinds, counts = self._kinds, self._counts
        if len(kinds) == kinds.maxlen:
            counts[kinds[0]] -= 1
        kinds.append(kind)
        counts[kind] = counts.get(kind, 0) + 1

    def count(self, kind: Kind) -> int:
        return self._counts.get(kind, 0)

    def rate(self, kind: Kind) -> float:
        """The share of recent outcomes of this kind, 0 while there are none."""
        total = len(self._kinds)
        return self._counts.get(kind, 0) / total if total else 0.0
