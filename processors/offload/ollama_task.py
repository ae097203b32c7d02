"""`OllamaTask`: what every offloaded local-model task holds: an Ollama client, its model, its settings section,
a usage hook, a close hook and a clock; connected with the task's own timeout, closed with its client. Generic in
its settings section: the re-ranker and the digester read `OffloadSettings`, the labeller `LabelSettings`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Generic, Self, TypeVar

try:
    import ollama
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("local-model tasks need `ollama`: pip install 'memlane[extraction]'") from exc

from pydantic import BaseModel

from schemas.events import UsageRecord

S = TypeVar("S", bound=BaseModel)
PROVIDER = "ollama"
"""The `provider` of every local task's usage records."""


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

    def record_usage(
        self,
        task: str,
        *,
        request_id: str,
        conversation_id: str,
        tenant_id: str,
        tokens_in: int,
        tokens_out: int,
        started: float,
        error_class: str | None,
        model: str | None = None,
    ) -> UsageRecord:
        """The usage record of one call of this task (a local call: no cost), handed to `on_usage` too."""
        record = UsageRecord(
            usage_id=str(uuid.uuid4()),
            request_id=request_id,
            conversation_id=conversation_id,
            tenant_id=tenant_id,
            provider=PROVIDER,
            model=model or self.model,
            tokens_in=max(0, tokens_in),
            tokens_out=max(0, tokens_out),
            latency_ms=max(0.0, (self._clock() - started) * 1000.0),
            cost_usd=0.0,
            outcome="success" if error_class is None else "failure",
            error_class=error_class,
            task=task,
        )
        if self.on_usage is not None:
            self.on_usage(record)
        return record

    def close(self) -> None:
        """Close the client, then whatever the task's owner asked to close with it (e.g. a usage writer)."""
        try:
            self._client.close()  # type: ignore[no-untyped-call]
        finally:
            if self._on_close is not None:
                self._on_close()


__all__ = ["PROVIDER", "OllamaTask"]
