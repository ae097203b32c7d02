"""Runtime behaviour and observations of a fake server: latency, parallelism, queued failures, counters.

`StubScript` is what a test changes while a server runs: `latency` (seconds added to every model call),
`parallel` (how many model calls are processed at once; the rest queue, like `OLLAMA_NUM_PARALLEL`) and
`fail_next(n, kind)` (the next `n` model calls fail in the named way). `ConcurrencyGate` is the
counting gate behind `parallel`; it records the most calls ever in flight. `StubStats` counts requests
by path and responses by status; `StubObservations` is how a test reads them off a server. Everything here is
safe to use from several threads.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

KindT = TypeVar("KindT", bound=str)


class ConcurrencyGate:
    """At most `limit` holders at once (the limit can change while held); counts the peak. With `max_waiting`,
    at most that many callers wait for a slot: `acquire` refuses the next one (a full queue)."""

    def __init__(self, limit: int, *, max_waiting: int | None = None) -> None:
        self._cond = threading.Condition()
        self._limit = _check_limit(limit)
        self._in_flight = 0
        self._max_in_flight = 0
        self._waiting = 0
        self.max_waiting = max_waiting

    @property
    def limit(self) -> int:
        with self._cond:
            return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        with self._cond:
            self._limit = _check_limit(value)
            self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        with self._cond:
            return self._max_in_flight

    def reset(self) -> None:
        """Forget the peak (the current count stays)."""
        with self._cond:
            self._max_in_flight = self._in_flight

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        with self._cond:
            return self._waiting

    def acquire(self) -> bool:
        """Take a slot, waiting for one; False (at once) when `max_waiting` callers already wait."""
        with self._cond:
            if self._in_flight >= self._limit:
                if self.max_waiting is not None and self._waiting >= self.max_waiting:
                    return False
                self._waiting += 1
                try:
                    while self._in_flight >= self._limit:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return True

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def __enter__(self) -> None:
        with self._cond:
            while self._in_flight >= self._limit:
                self._cond.wait()
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _check_limit(value: int) -> int:
    if value < 1:
        raise ValueError(f"parallelism must be at least 1, got {value}")
    return value


class StubScript(Generic[KindT]):
    """Latency, parallelism and a FIFO of failures to inject; every accessor takes a lock."""

    def __init__(self, kinds: Iterable[str], *, latency: float = 0.0, parallel: int = 4) -> None:
        self._lock = threading.Lock()
        self._kinds = frozenset(kinds)
        self._latency = _check_latency(latency)
        self._failures: deque[KindT] = deque()
        self._injected: Counter[str] = Counter()
        self.gate = ConcurrencyGate(parallel)

    @property
    def latency(self) -> float:
        """Seconds each model call takes before its first response byte."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = _check_latency(seconds)

    @property
    def parallel(self) -> int:
        """How many model calls are processed at once."""
        return self.gate.limit

    @parallel.setter
    def parallel(self, value: int) -> None:
        self.gate.limit = value

    def fail_next(self, n: int, kind: KindT) -> None:
        """Make the next `n` model calls fail as `kind` (queued after failures already pending)."""
        if kind not in self._kinds:
            raise ValueError(f"unknown failure kind {kind!r}; expected one of {sorted(self._kinds)}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            self._failures.extend([kind] * n)

    def take_failure(self) -> KindT | None:
        """The failure for the call being served, or None; counted in `injected()`."""
        with self._lock:
            if not self._failures:
                return None
            kind = self._failures.popleft()
            self._injected[kind] += 1
            return kind

    def pending_failures(self) -> list[KindT]:
        with self._lock:
            return list(self._failures)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def injected(self) -> dict[str, int]:
        """Failures injected so far, by kind."""
        with self._lock:
            return dict(self._injected)


def _check_latency(seconds: float) -> float:
    if seconds < 0:
        raise ValueError(f"latency must be >= 0, got {seconds}")
    return float(seconds)


class StubStats:
    """Thread-safe counters: requests by path, responses by status, and the last request bodies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._bodies: list[tuple[str, Any]] = []

    def record_request(self, path: str, body: Any) -> None:
        with self._lock:
            self._paths[path] += 1
            self._bodies.append((path, body))
            del self._bodies[:-1000]

    def record_status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def requests_by_path(self) -> dict[str, int]:
        with self._lock:
            return dict(self._paths)

    def statuses(self) -> dict[int, int]:
        with self._lock:
            return dict(self._statuses)

    def bodies(self, path: str | None) -> list[Any]:
        with self._lock:
            return [body for p, body in self._bodies if path is None or p == path]

    def reset(self) -> None:
        with self._lock:
            self._paths.clear()
            self._statuses.clear()
            self._bodies.clear()


class StubObservations:
    """What a test reads off a running server: its counters (`stats`) and its parallelism gate (`script.gate`)."""

    stats: StubStats
    script: StubScript[Any]

    @property
    def max_concurrency(self) -> int:
        """Most requests ever processed at once (inside the parallelism gate)."""
        return self.script.gate.max_in_flight

    def request_count(self, path: str | None = None) -> int:
        """Requests received on `path` (every path when None)."""
        counts = self.stats.requests_by_path()
        return sum(counts.values()) if path is None else counts.get(path, 0)

    @property
    def error_count(self) -> int:
        """Responses sent with a status of 400 or more."""
        return sum(n for status, n in self.stats.statuses().items() if status >= 400)

    def received(self, path: str | None = None) -> list[Any]:
        """Decoded JSON bodies of the last 1000 requests (None for bodies that were not JSON)."""
        return self.stats.bodies(path)

    def reset_stats(self) -> None:
        self.stats.reset()
        self.script.gate.reset()


__all__ = ["ConcurrencyGate", "StubObservations", "StubScript", "StubStats"]
