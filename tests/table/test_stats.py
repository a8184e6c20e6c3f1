"""Rolling statistics: EWMA arithmetic, nearest-rank percentiles of a ring, outcome shares."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.table.stats import Ewma, OutcomeWindow, RecentWindow, SignalStats

_samples = st.lists(st.floats(min_value=-1e6, max_value=1e6), max_size=60)


def nearest_rank(values: list[float], p: float) -> float:
    """The textbook definition: the smallest value with at least p% of values at or below it."""
    ordered = sorted(values)
    n = len(ordered)
    for k in range(1, n + 1):
        if Fraction(k, n) >= Fraction(p) / 100:
            return ordered[k - 1]
    raise AssertionError("unreachable")


def test_ewma_is_seeded_by_the_first_sample() -> None:
    ewma = Ewma(0.2)
    assert ewma.value is None
    assert ewma.update(100.0) == 100.0


def test_ewma_moves_alpha_of_the_way_to_each_sample() -> None:
    ewma = Ewma(0.25)
    ewma.update(100.0)
    assert ewma.update(200.0) == pytest.approx(125.0)
    assert ewma.update(200.0) == pytest.approx(143.75)


def test_ewma_with_alpha_one_is_the_last_sample() -> None:
    ewma = Ewma(1.0)
    for sample in (3.0, 9.0, 4.0):
        ewma.update(sample)
    assert ewma.value == 4.0


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.5])
def test_ewma_refuses_an_alpha_outside_0_to_1(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        Ewma(alpha)


@given(st.floats(min_value=0.01, max_value=1.0), st.lists(st.floats(-1e6, 1e6), min_size=1))
def test_ewma_stays_within_the_range_of_its_samples(alpha: float, samples: list[float]) -> None:
    ewma = Ewma(alpha)
    for sample in samples:
        ewma.update(sample)
    assert ewma.value is not None
    assert min(samples) - 1e-6 <= ewma.value <= max(samples) + 1e-6


def test_an_empty_window_has_no_percentile() -> None:
    assert RecentWindow(5).percentile(50) is None


def test_the_window_keeps_only_the_last_samples_oldest_first() -> None:
    window = RecentWindow(3)
    for sample in range(1, 8):
        window.add(float(sample))
    assert window.values() == [5.0, 6.0, 7.0]
    assert len(window) == 3


def test_percentiles_are_nearest_rank() -> None:
    window = RecentWindow(100)
    for sample in (15.0, 20.0, 35.0, 40.0, 50.0):
        window.add(sample)
    assert window.percentile(0) == 15.0
    assert window.percentile(5) == 15.0
    assert window.percentile(30) == 20.0
    assert window.percentile(40) == 20.0
    assert window.percentile(50) == 35.0
    assert window.percentile(100) == 50.0


@pytest.mark.parametrize("p", [-1.0, 100.5, math.nan])
def test_a_percentile_outside_0_to_100_is_refused(p: float) -> None:
    window = RecentWindow(3)
    window.add(1.0)
    with pytest.raises(ValueError, match="p must"):
        window.percentile(p)


@given(st.integers(min_value=1, max_value=20), _samples, st.integers(min_value=0, max_value=100))
def test_window_percentiles_match_a_sorted_list_of_the_last_samples(
    size: int, samples: list[float], p: int
) -> None:
    window = RecentWindow(size)
    for sample in samples:
        window.add(sample)
    recent = samples[-size:]
    assert window.values() == recent
    if recent:
        assert window.percentile(p) == nearest_rank(recent, p)
    else:
        assert window.percentile(p) is None


def test_a_signal_drops_samples_that_would_poison_its_average() -> None:
    signal = SignalStats(alpha=0.5, window=10)
    signal.add(100.0)
    signal.add(math.nan)
    signal.add(math.inf)
    signal.add(200.0)
    assert signal.value == 150.0
    assert signal.summary() == {"ewma": 150.0, "p50": 100.0, "p95": 200.0}


def test_an_empty_signal_summarises_as_nones() -> None:
    assert SignalStats(alpha=0.5, window=10).summary() == {"ewma": None, "p50": None, "p95": None}


def test_outcome_rates_are_shares_of_the_recent_window() -> None:
    window: OutcomeWindow[str] = OutcomeWindow(4)
    assert window.rate("failure") == 0.0
    for kind in ("failure", "success", "rate_limited", "failure"):
        window.add(kind)
    assert window.rate("failure") == 0.5
    assert window.rate("rate_limited") == 0.25
    window.add("success")  # evicts the first failure
    assert window.rate("failure") == 0.25
    assert window.count("success") == 2


@given(st.integers(min_value=1, max_value=10), st.lists(st.sampled_from("abc"), max_size=50))
def test_outcome_counts_match_the_last_outcomes(size: int, kinds: list[str]) -> None:
    window: OutcomeWindow[str] = OutcomeWindow(size)
    for kind in kinds:
        window.add(kind)
    recent = kinds[-size:]
    assert len(window) == len(recent)
    for kind in "abc":
        assert window.count(kind) == recent.count(kind)
        expected = recent.count(kind) / len(recent) if recent else 0.0
        assert window.rate(kind) == pytest.approx(expected)


@pytest.mark.parametrize("make", [RecentWindow, OutcomeWindow])
def test_windows_need_room_for_a_sample(make: type) -> None:
    with pytest.raises(ValueError, match="size"):
        make(0)
