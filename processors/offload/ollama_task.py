"""`OllamaTask`: what every offloaded local-model task holds: an Ollama client, its model, its settings section,
a usage hook, a close hook and a clock; connected with the task's own timeout, closed with its client. Generic in
its settings section: the re-ranker and the digester read `OffloadSettings`, the labeller `LabelSettings`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, Self, TypeVar

try:
    import ollama
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("local-model tasks need `ollama`: pip install 'memlane[extraction]'") from exc

from pydantic import BaseModel

from schemas.events import UsageRecord

S = TypeVar("S", bound=BaseModel)


class OllamaTask(Generic[S]):
    """Base of the re-ranker, the digester and the labeller. Thread-safe as far as the client is."""

    def __init__(
        self,
        client: ollama.Client,
        model: str,
        settings: S,
        *,
        on_usage: Callable[[UsageRecord], None] | None = None,
        on_close: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self._on_close = on_close
        self.model = model
        self.settings = settings
        self.on_usage = on_usage
        self._clock = clock

    @classmethod
    def timeout_s(cls, settings: S) -> float:
        """The client timeout of one call of this task."""
        raise NotImplementedError

    @classmethod
    def connect(
        cls,
        url: str,
        model: str,
        settings: S,
        *,
        on_usage: Callable[[UsageRecord], None] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> Self:
        client = ollama.Client(host=url, timeout=cls.timeout_s(settings))
        return cls(client, model, settings, on_usage=on_usage, on_close=on_close)

    def close(self) -> None:
        """Close the client, then whatever the task's owner asked to close with it (e.g. a usage writer)."""
        try:
            self._client.close()  # type: ignore[no-untyped-call]
        finally:
            if self._on_close is not None:
                self._on_close()


__all__ = ["OllamaTask"]
