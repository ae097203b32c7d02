"""The one sink contract: `add` each record, `flush` at the checkpoint, `close` at the end.

    Sink.add(record)       take one decoded record; may write it at once or buffer it
    Sink.flush()           checkpoint: everything added so far is durable when this returns
    Sink.discard()         the checkpoint was abandoned: forget what was buffered since the last flush
    Sink.close()           release what the sink holds (stores, clients)
    BatchingSink           buffers `add`ed records; subclasses implement only `write(batch)`

The consumer loop (`streams.kafka.loop`) decodes every message, hands the good ones to `add` and commits
their offsets only after `flush` (and the producer flush) succeeded; a failed flush aborts the commit and
the batch is read again, so writes must be idempotent. A saturated or unavailable downstream raises
`SinkBackpressureError(retry_after=...)`: from `add`, the records added before it are checkpointed and the
rest waits `retry_after` seconds; from `flush`, the whole batch does. `SinkRecord` carries a record's
position and raw bytes, so a sink can park a record it cannot handle with the bytes as they arrived.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from schemas.errors import SinkBackpressureError

T = TypeVar("T")

Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class SinkRecord(Generic[T]):
    """A decoded record and where it was read: topic, partition, offset, key, raw value and headers."""

    value: T
    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    raw: bytes = b""
    headers: tuple[tuple[str, bytes | str | None], ...] = ()


class Sink(ABC, Generic[T]):
    """Receives decoded records; `flush` makes them durable before their offsets are committed."""

    @abstractmethod
    def add(self, record: SinkRecord[T]) -> None:
        """Take one record. Raise `SinkBackpressureError` to stop the batch here (this record not taken)."""

    def flush(self) -> None:
        """Checkpoint: make every record added since the last flush durable. Raising aborts the commit."""

    def discard(self) -> None:
        """Forget records added since the last flush (the loop rewinds and will add them again)."""

    def close(self) -> None:
        """Release what the sink holds."""

    def on_assign(self, partitions: list[int]) -> None:
        """The consumer was given `partitions` of its input (a sink with state restores it before the next add)."""


class BatchingSink(Sink[T]):
    """A sink that writes at the checkpoint: `add` buffers, `flush` hands the buffer to `write`."""

    def __init__(self) -> None:
        self._buffer: list[SinkRecord[T]] = []

    def add(self, record: SinkRecord[T]) -> None:
        self._buffer.append(record)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            self.write(batch)

    def discard(self) -> None:
        self._buffer.clear()

    @abstractmethod
    def write(self, batch: Sequence[SinkRecord[T]]) -> None:
        """Write a whole batch (idempotently); raise to have it read again."""


__all__ = ["BatchingSink", "Header", "Sink", "SinkBackpressureError", "SinkRecord"]
