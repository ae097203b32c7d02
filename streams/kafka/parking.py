"""Parking messages that cannot be processed: quarantine (undecodable input) and the DLQ (failed extraction).

The parked value is the original bytes, untouched, under the original key; `memlane.error.*` headers
say what failed and where the message came from. Parking goes through the caller's reliable
producer, so the consumer commits the source offset only after the parked copy is acknowledged.

A value too large to copy (over the producer's `value_limit`: a message near the broker's limit, garbage of
a megabyte) is parked truncated; its full bytes go to the blob store (`Overflow`) first, and the headers
`memlane.error.blob` / `memlane.error.size` say where and how much, so nothing is lost and the parked copy
still fits the topic.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog
from confluent_kafka import Message

from sinks.base import SinkRecord
from streams.kafka.headers import PREFIX, ErrorInfo, without_error_headers
from streams.kafka.producer import ReliableProducer
from streams.metrics import DLQ_PARKED, QUARANTINED

log = structlog.get_logger(__name__)


def message_headers(message: Message) -> list[tuple[str, bytes | str | None]]:
    """A message's headers as a list of pairs (confluent-kafka may hand back None)."""
    headers = message.headers()
    if headers is None:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


def error_info_for(
    record: SinkRecord[Any], *, stage: str, error_class: str, detail: str, attempts: int = 1, model: str = ""
) -> ErrorInfo:
    """The error headers of `record` parked by `stage` for `error_class`."""
    return ErrorInfo(
        stage=stage,
        error_class=error_class,
        message=detail,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        attempts=attempts,
        model=model,
    )


BLOB_HEADER = PREFIX + "blob"
SIZE_HEADER = PREFIX + "size"


class Stored(Protocol):
    @property
    def sha256(self) -> str: ...


class Overflow(Protocol):
    """Where the full bytes of a value too large to park go (the blob store's `put`)."""

    def put(self, data: bytes, *, media_type: str = ..., referrer: str | None = None) -> Stored: ...


def fit(
    value: bytes, headers: list[tuple[str, bytes]], limit: int, overflow: Overflow | None, referrer: str
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """`value` and `headers` as they can be produced: over `limit`, the full bytes go to `overflow` and the
    value is cut to `limit` bytes, with headers naming the blob and the original size."""
    if len(value) <= limit:
        return value, headers
    extra = [(SIZE_HEADER, str(len(value)).encode())]
    if overflow is not None:
        stored = overflow.put(bytes(value), media_type="application/octet-stream", referrer=referrer)
        extra.append((BLOB_HEADER, stored.sha256.encode()))
    return value[:limit], [*headers, *extra]


def park(
    producer: ReliableProducer,
    topic: str,
    record: SinkRecord[Any],
    info: ErrorInfo,
    *,
    overflow: Overflow | None = None,
) -> None:
    """Send `record`'s raw key and value to `topic` with error headers (previous error headers replaced)."""
    headers = without_error_headers(record.headers) + info.to_headers()
    referrer = f"parked:{info.topic}/{info.partition}/{info.offset}"
    value, headers = fit(record.raw, headers, producer.value_limit, overflow, referrer)
    producer.send(topic, value, key=record.key, headers=headers)


def quarantine(
    producer: ReliableProducer,
    topic: str,
    message: SinkRecord[Any],
    *,
    stage: str,
    error: Exception,
    overflow: Overflow | None = None,
) -> None:
    """Park an undecodable or invalid message in the quarantine topic."""
    error_class = type(error).__name__
    info = error_info_for(message, stage=stage, error_class=error_class, detail=str(error))
    park(producer, topic, message, info, overflow=overflow)
    QUARANTINED.labels(stage=stage, error_class=error_class).inc()
    log.warning(
        "message.quarantined",
        stage=stage,
        error_class=error_class,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        error=str(error)[:300],
    )


def dead_letter(
    producer: ReliableProducer,
    topic: str,
    message: SinkRecord[Any],
    *,
    stage: str,
    error_class: str,
    detail: str,
    attempts: int,
    model: str,
    overflow: Overflow | None = None,
) -> None:
    """Park a request that extraction (with `model`) could not turn into memories in the DLQ."""
    info = error_info_for(message, stage=stage, error_class=error_class, detail=detail, attempts=attempts, model=model)
    park(producer, topic, message, info, overflow=overflow)
    DLQ_PARKED.labels(model=model, error_class=error_class).inc()


__all__ = [
    "BLOB_HEADER",
    "SIZE_HEADER",
    "Overflow",
    "dead_letter",
    "error_info_for",
    "fit",
    "message_headers",
    "park",
    "quarantine",
]
