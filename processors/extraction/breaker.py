"""Circuit breaker around a model server: fail fast while it is down, probe it with one call after a cooldown.

    closed ──(threshold consecutive failures)──► open ──(cooldown elapsed)──► half_open
      ▲                                            ▲                            │ one trial call
      └──────────────── trial succeeds ────────────┼──── trial fails ───────────┘

While open, `acquire()` raises `extraction_failure(circuit_open)` without any call being made. In
half-open, exactly one caller gets the trial; the others fail fast until its verdict. The breaker is pure
state with an injectable monotonic clock and is safe to share between the threads of one worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from processors.extraction.contract import ErrorClass, extraction_failure


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures; opens at `failure_threshold`, allows a trial after `cooldown_s`."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "ollama",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def acquire(self) -> bool:
        """Permission for one call; True when it is the half-open trial. Raises `circuit_open` otherwise."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return False
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            assert self._opened_at is not None
            wait = max(0.0, self.cooldown_s - (self._clock() - self._opened_at))
            failures = self._failures
        raise extraction_failure(
            f"{self.name} circuit is {state.value} after {failures} consecutive failures; next trial in {wait:.0f}s",
            error_class=ErrorClass.CIRCUIT_OPEN,
        )

    def record_success(self, trial: bool = False) -> None:
        """The call reached a working server: close the circuit."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self, trial: bool = False) -> None:
        """The call failed: count it; reaching the threshold opens the circuit, a failed trial reopens it."""
        with self._lock:
            self._failures += 1
            if trial:
                self._trial_in_flight = False
                self._opened_at = self._clock()
            elif self._opened_at is None and self._failures >= self.failure_threshold:
                self._opened_at = self._clock()

    def half_open_now(self) -> bool:
        """An operator says the server is back (`memlane dlq redrive`): allow the trial call now, without
        waiting out the cooldown. True when the circuit was open."""
        with self._lock:
            if self._opened_at is None or self._state() is not BreakerState.OPEN:
                return False
            self._opened_at = self._clock() - self.cooldown_s
            return True

    def release(self, trial: bool = False) -> None:
        """The call ended without a verdict on the server: another caller may take the trial."""
        if trial:
            with self._lock:
                self._trial_in_flight = False


__all__ = ["BreakerState", "CircuitBreaker"]
