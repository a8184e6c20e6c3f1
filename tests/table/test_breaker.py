"""The circuit breaker: when it takes a backend out, how it probes, and how it lets it back in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.table.breaker import BreakerConfig, CircuitBreaker


def tripped(breaker: CircuitBreaker, now: float) -> CircuitBreaker:
    for _ in range(breaker.config.failure_threshold):
        breaker.record_failure(now)
    return breaker


def test_a_new_breaker_is_closed_and_admits() -> None:
    breaker = CircuitBreaker()
    assert breaker.state(0.0) == "closed"
    assert breaker.allow(0.0)
    assert breaker.open_until is None
    assert breaker.cooldown_until is None


def test_opens_after_the_threshold_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=3))
    breaker.record_failure(1.0)
    breaker.record_failure(1.0)
    assert breaker.state(1.0) == "closed"
    breaker.record_failure(1.0)
    assert breaker.state(1.0) == "open"
    assert not breaker.allow(1.0)
    assert breaker.open_until == 11.0


def test_a_success_resets_the_consecutive_count() -> None:
    # min_samples = window = 20 keeps the rate rule out of the way for these 12 outcomes.
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=3, window=20, min_samples=20))
    for _ in range(4):
        breaker.record_failure(0.0)
        breaker.record_failure(0.0)
        assert breaker.consecutive_failures == 2
        breaker.record_success(0.0)
        assert breaker.consecutive_failures == 0
    assert breaker.state(0.0) == "closed"


def test_alternating_failures_stay_closed_under_the_rate_threshold() -> None:
    breaker = CircuitBreaker()
    for _ in range(50):
        breaker.record_success(0.0)
        breaker.record_failure(0.0)
    assert breaker.state(0.0) == "closed"  # after each failure exactly half: not above 50%


def test_opens_when_the_error_rate_over_the_window_exceeds_the_threshold() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=100, window=20, min_samples=10))
    pattern = [True, True, False]  # two failures in three: 67%, never five in a row
    for i in range(9):
        if pattern[i % 3]:
            breaker.record_failure(0.0)
        else:
            breaker.record_success(0.0)
    assert breaker.state(0.0) == "closed"  # 9 samples: below min_samples
    breaker.record_failure(0.0)
    assert breaker.state(0.0) == "open"


def test_the_error_rate_only_looks_at_the_last_window_of_outcomes() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=100, window=10, min_samples=10))
    for _ in range(5):
        breaker.record_failure(0.0)
    for _ in range(10):
        breaker.record_success(0.0)  # pushes every failure out of the window
    for _ in range(5):
        breaker.record_failure(0.0)
    assert breaker.state(0.0) == "closed"  # 5 of the last 10: not above 50%
    breaker.record_failure(0.0)
    assert breaker.state(0.0) == "open"


def test_after_the_cooldown_it_is_half_open() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    assert breaker.state(9.999) == "open"
    assert not breaker.allow(9.999)
    assert breaker.state(10.0) == "half_open"


def test_half_open_admits_exactly_one_probe() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    assert breaker.allow(10.0)
    assert breaker.is_probe_out
    assert not breaker.allow(10.0)
    assert not breaker.allow(15.0)


def test_a_successful_probe_closes_the_breaker_and_resets_the_cooldown() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    assert breaker.allow(10.0)
    breaker.record_success(11.0)
    assert breaker.state(11.0) == "closed"
    assert breaker.allow(11.0)
    assert breaker.allow(11.0)
    assert breaker.cooldown_s == 10.0
    assert breaker.consecutive_failures == 0


def test_a_failed_probe_reopens_with_a_doubled_cooldown_up_to_the_cap() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    now = 0.0
    cooldowns = []
    for _ in range(6):
        now = breaker.open_until or 0.0
        assert breaker.allow(now)
        breaker.record_failure(now)
        cooldowns.append(breaker.cooldown_s)
        assert breaker.state(now) == "open"
    assert cooldowns == [20.0, 40.0, 80.0, 120.0, 120.0, 120.0]
    assert breaker.open_until == now + 120.0


def test_recovery_after_reopens_starts_again_from_the_base_cooldown() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    assert breaker.allow(10.0)
    breaker.record_failure(10.0)  # open for 20 s
    assert breaker.allow(30.0)
    breaker.record_success(30.0)
    tripped(breaker, now=31.0)
    assert breaker.open_until == 41.0


def test_the_failures_that_opened_it_do_not_count_after_recovery() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=100))
    for _ in range(10):
        breaker.record_failure(0.0)
    assert breaker.state(0.0) == "open"
    assert breaker.allow(10.0)
    breaker.record_success(10.0)
    breaker.record_failure(10.0)
    assert breaker.state(10.0) == "closed"


def test_reports_while_open_are_late_and_change_nothing() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    breaker.record_success(5.0)
    assert breaker.state(5.0) == "open"
    breaker.record_failure(5.0)
    assert breaker.open_until == 10.0


def test_a_lost_probe_is_replaced_after_the_probe_timeout() -> None:
    breaker = tripped(CircuitBreaker(BreakerConfig(probe_timeout_s=60.0)), now=0.0)
    assert breaker.allow(10.0)
    assert not breaker.allow(69.0)
    assert breaker.allow(70.0)


def test_an_abandoned_probe_frees_the_slot() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    assert breaker.allow(10.0)
    breaker.record_abandoned()
    assert breaker.state(10.0) == "half_open"
    assert breaker.allow(10.0)


def test_a_429_is_not_a_failure_but_holds_the_backend_until_retry_after() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=1))
    breaker.record_rate_limited(100.0, retry_after_s=30.0)
    assert breaker.state(100.0) == "closed"
    assert breaker.consecutive_failures == 0
    assert breaker.cooldown_until == 130.0
    assert breaker.is_rate_limited(129.9)
    assert not breaker.allow(129.9)
    assert not breaker.is_rate_limited(130.0)
    assert breaker.allow(130.0)


def test_a_429_without_retry_after_uses_the_default_and_a_huge_one_is_capped() -> None:
    breaker = CircuitBreaker(BreakerConfig(default_retry_after_s=2.0, max_retry_after_s=300.0))
    breaker.record_rate_limited(0.0, retry_after_s=None)
    assert breaker.cooldown_until == 2.0
    breaker.record_rate_limited(0.0, retry_after_s=86_400.0)
    assert breaker.cooldown_until == 300.0
    breaker.record_rate_limited(0.0, retry_after_s=float("nan"))
    assert breaker.cooldown_until == 300.0  # never shortened by a later, shorter 429


def test_a_429_on_the_probe_keeps_it_half_open_and_frees_the_slot_after_retry_after() -> None:
    breaker = tripped(CircuitBreaker(), now=0.0)
    assert breaker.allow(10.0)
    breaker.record_rate_limited(11.0, retry_after_s=5.0)
    assert breaker.state(11.0) == "half_open"
    assert not breaker.allow(15.9)
    assert breaker.allow(16.0)


@pytest.mark.parametrize(
    "config",
    [
        {"failure_threshold": 0},
        {"min_samples": 0},
        {"window": 5, "min_samples": 10},
        {"error_rate_threshold": 1.5},
        {"cooldown_s": 0.0},
        {"cooldown_s": 200.0, "max_cooldown_s": 120.0},
    ],
)
def test_nonsense_configs_are_refused(config: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        BreakerConfig(**config)  # type: ignore[arg-type]


_events = st.lists(
    st.tuples(
        st.sampled_from(["allow", "success", "failure", "rate_limited", "abandoned"]),
        st.floats(min_value=0.0, max_value=30.0),  # time step since the previous event
        st.none() | st.floats(min_value=0.0, max_value=20.0),  # Retry-After
    ),
    max_size=200,
)


@given(_events)
def test_half_open_never_has_two_probes_out_and_a_good_probe_always_closes(
    events: list[tuple[str, float, float | None]],
) -> None:
    config = BreakerConfig(failure_threshold=2, window=4, min_samples=2, cooldown_s=5.0)
    breaker = CircuitBreaker(config)
    now = 0.0
    probe_out_since: float | None = None  # our own count of unreported admissions in half-open
    for event, step, retry_after in events:
        now += step
        state = breaker.state(now)
        if event == "allow":
            admitted = breaker.allow(now)
            if state == "half_open" and admitted:
                lost = (
                    probe_out_since is not None and now - probe_out_since >= config.probe_timeout_s
                )
                assert probe_out_since is None or lost, "a second probe while one is out"
                probe_out_since = now
            if state == "open" or breaker.is_rate_limited(now):
                assert not admitted
            elif state == "closed":
                assert admitted
            continue
        # Any report ends the outstanding probe (outcomes are not tied to attempts).
        probe_out_since = None
        if event == "success":
            breaker.record_success(now)
            if state == "half_open":
                assert breaker.state(now) == "closed"
        elif event == "failure":
            breaker.record_failure(now)
            if state == "half_open":
                assert breaker.state(now) == "open"
        elif event == "rate_limited":
            breaker.record_rate_limited(now, retry_after)
            assert breaker.state(now) == state
        else:
            breaker.record_abandoned()
        if breaker.state(now) != "half_open":
            probe_out_since = None
        assert config.cooldown_s <= breaker.cooldown_s <= config.max_cooldown_s
