"""The circuit breaker as pure state with a fake clock."""

from __future__ import annotations

import pytest
from extraction_support import FakeClock

from processors.extraction.breaker import BreakerState, CircuitBreaker
from processors.extraction.contract import ExtractionError


def state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state


def opened(clock: FakeClock, threshold: int = 3, cooldown: float = 60.0) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=threshold, cooldown_s=cooldown, clock=clock)
    for _ in range(threshold):
        assert breaker.acquire() is False
        breaker.record_failure()
    return breaker


def test_opens_at_the_threshold_of_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=60, clock=clock)
    for _ in range(2):
        breaker.acquire()
        breaker.record_failure()
    breaker.acquire()
    breaker.record_success()  # a success resets the count
    for _ in range(2):
        breaker.acquire()
        breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED
    breaker.acquire()
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(ExtractionError) as info:
        breaker.acquire()
    assert info.value.error_class == "circuit_open" and info.value.retriable


def test_half_open_admits_exactly_one_trial(clock: FakeClock) -> None:
    breaker = opened(clock)
    clock.advance(60)
    assert state(breaker) is BreakerState.HALF_OPEN
    assert breaker.acquire() is True
    with pytest.raises(ExtractionError):
        breaker.acquire()  # a second caller while the trial runs
    breaker.record_success(True)
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.acquire() is False


def test_failed_trial_reopens_for_a_full_cooldown(clock: FakeClock) -> None:
    breaker = opened(clock)
    clock.advance(100)
    trial = breaker.acquire()
    breaker.record_failure(trial)
    assert state(breaker) is BreakerState.OPEN
    clock.advance(59)
    assert state(breaker) is BreakerState.OPEN
    clock.advance(1)
    assert state(breaker) is BreakerState.HALF_OPEN


def test_released_trial_lets_the_next_caller_try(clock: FakeClock) -> None:
    breaker = opened(clock)
    clock.advance(60)
    trial = breaker.acquire()
    breaker.release(trial)
    assert breaker.acquire() is True


def test_late_failures_do_not_extend_an_open_circuit(clock: FakeClock) -> None:
    breaker = opened(clock)
    clock.advance(30)
    breaker.record_failure()  # a call that started before the circuit opened
    clock.advance(30)
    assert state(breaker) is BreakerState.HALF_OPEN
