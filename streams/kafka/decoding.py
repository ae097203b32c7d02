"""How a worker reads a message: decoded with the process's codec, checked, and seen as a `SinkRecord`.

`RecordDecoder` decodes and runs the worker's checks (failures are quarantined by the loop); `raw_record`
turns a message into the record the sink contract speaks (decoded value, position, key, raw bytes, headers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from confluent_kafka import Message

from schemas.codec import EventCodec
from schemas.events import EventModel
from sinks.base import SinkRecord
from streams.kafka.parking import message_headers

E = TypeVar("E", bound=EventModel)


@dataclass(frozen=True)
class RecordDecoder(Generic[E]):
    """How a worker reads its input: the event model, the codec, and checks a decoded event must pass.

    Failures are quarantined under the stages `<stage>.decode` (`CodecError`) and `<stage>.validate`
    (`ValidationError` from `validate`).
    """

    model: type[E]
    codec: EventCodec
    stage: str
    validate: Callable[[E], None] | None = None

    def decode(self, message: Message) -> E:
        event = self.codec.decode(message.value() or b"", self.model, message.topic() or "")
        if self.validate is not None:
            self.validate(event)
        return event


def raw_record(message: Message, value: Any = None) -> SinkRecord[Any]:
    """A message as a `SinkRecord` (its decoded value, or None) with its position, key, bytes and headers."""
    partition, offset = message.partition(), message.offset()
    key = message.key()
    return SinkRecord(
        value=value,
        topic=message.topic() or "",
        partition=partition if partition is not None else -1,
        offset=offset if offset is not None else -1,
        key=key if isinstance(key, bytes) else None,
        raw=message.value() or b"",
        headers=tuple(message_headers(message)),
    )


__all__ = ["RecordDecoder", "raw_record"]
