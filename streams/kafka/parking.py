"""Parking messages that cannot be processed: quarantine (undecodable input) and the DLQ (failed extraction).

The parked value is the original bytes, untouched, under the original key; `memlane.error.*` headers
say what failed and where the message came from. Parking goes through the caller's reliable
producer, so the consumer commits the source offset only after the parked copy is acknowledged.
"""

from __future__ import annotations

from typing import Any

import structlog
from confluent_kafka import Message

from sinks.base import SinkRecord
from streams.kafka.headers import ErrorInfo, without_error_headers
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
    record: SinkRecord[Any], *, stage: str, error_class: str, detail: str, attempts: int = 1
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
    )


def park(producer: ReliableProducer, topic: str, record: SinkRecord[Any], info: ErrorInfo) -> None:
    """Send `record`'s raw key and value to `topic` with error headers (previous error headers replaced)."""
    headers = without_error_headers(record.headers) + info.to_headers()
    producer.send(topic, record.raw, key=record.key, headers=headers)


def quarantine(
    producer: ReliableProducer, topic: str, message: SinkRecord[Any], *, stage: str, error: Exception
) -> None:
    """Park an undecodable or invalid message in the quarantine topic."""
    error_class = type(error).__name__
    park(producer, topic, message, error_info_for(message, stage=stage, error_class=error_class, detail=str(error)))
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
) -> None:
    """Park a request that extraction could not turn into memories in the DLQ."""
    park(
        producer,
        topic,
        message,
        error_info_for(message, stage=stage, error_class=error_class, detail=detail, attempts=attempts),
    )
    DLQ_PARKED.labels(error_class=error_class).inc()


__all__ = ["dead_letter", "error_info_for", "message_headers", "park", "quarantine"]
