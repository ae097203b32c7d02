"""Ollama health: is the server answering `/api/tags`, and does it have the models routing needs?

Checked once when a worker starts (it decides `MEMLANE_EXTRACTOR=auto` between Ollama and the heuristic
extractor) and then every `health_interval_s` through `check_if_due()`, which the worker loop calls between
polls. Health checks never count toward the circuit breaker: the breaker judges real extraction calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import httpx
import pydantic

try:
    import ollama
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("Ollama health checks need `ollama`: pip install 'memlane[extraction]'") from exc

from processors.extraction.contract import HealthStatus


def canonical_model(name: str) -> str:
    """Ollama's full model name: a name without a tag means `:latest`."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class OllamaHealth:
    """Periodic `/api/tags` probe of one Ollama server."""

    def __init__(
        self,
        client: ollama.Client,
        *,
        required_models: Sequence[str],
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.required_models = tuple(dict.fromkeys(required_models))
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: HealthStatus | None = None

    @property
    def last(self) -> HealthStatus | None:
        with self._lock:
            return self._last

    def check(self) -> HealthStatus:
        """Ask the server now."""
        now = self._clock()
        try:
            listing = self._client.list()
        except ollama.ResponseError as exc:
            status = HealthStatus(False, error=f"HTTP {exc.status_code}: {exc.error}", checked_at=now)
        except (ConnectionError, httpx.HTTPError, pydantic.ValidationError, ValueError) as exc:
            status = HealthStatus(False, error=f"{type(exc).__name__}: {exc}", checked_at=now)
        else:
            names = tuple(canonical_model(m.model) for m in listing.models if m.model)
            missing = tuple(m for m in self.required_models if canonical_model(m) not in names)
            status = HealthStatus(True, names, missing, None, now)
        with self._lock:
            self._last = status
        return status

    def check_if_due(self) -> HealthStatus:
        """The last status, refreshed when `interval_s` has passed since it was taken."""
        last = self.last
        if last is None or self._clock() - last.checked_at >= self.interval_s:
            return self.check()
        return last


__all__ = ["HealthStatus", "OllamaHealth", "canonical_model"]
