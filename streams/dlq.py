"""Operations on the dead-letter topic: what is parked (`memlane dlq status`) and re-driving it to extraction.

"Parked" means: in the DLQ beyond the fallback consumer group's committed offsets, i.e. not yet turned
into memories by the fallback nor re-driven. `redrive` moves every parked request back to
`extraction.requests` (original bytes and headers, a redrive counter added, error headers removed)
and commits the fallback group past them; like Kafka's own offset reset, it needs the fallback
worker to be stopped while it runs.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.errors import MemlaneError
from streams.kafka.connection import KafkaConnection
from streams.kafka.consumer import end_offsets, make_consumer
from streams.kafka.headers import REDRIVE_HEADER, ErrorInfo, redrive_count, without_error_headers
from streams.kafka.parking import message_headers
from streams.kafka.producer import ReliableProducer


@dataclass
class DlqStatus:
    total: int = 0
    handled: int = 0
    parked: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_attempts: Counter[int] = field(default_factory=Counter)
    by_partition: dict[int, tuple[int, int]] = field(default_factory=dict)


def _start_offsets(consumer: Consumer, topic: str, marks: dict[int, tuple[int, int]]) -> dict[int, int]:
    committed = consumer.committed([TopicPartition(topic, p) for p in marks], timeout=30)
    starts: dict[int, int] = {}
    for tp in committed:
        low, _high = marks[tp.partition]
        starts[tp.partition] = max(tp.offset, low) if tp.offset >= 0 else low
    return starts


def _read_range(consumer: Consumer, topic: str, starts: dict[int, int], ends: dict[int, int]) -> list[Message]:
    wanted = {p: (starts[p], ends[p]) for p in starts if ends[p] > starts[p]}
    if not wanted:
        return []
    consumer.assign([TopicPartition(topic, p, start) for p, (start, _end) in wanted.items()])
    positions = {p: start for p, (start, _end) in wanted.items()}
    out: list[Message] = []
    idle = 0
    while any(positions[p] < wanted[p][1] for p in wanted):
        batch = consumer.consume(num_messages=500, timeout=1.0)
        if not batch:
            idle += 1
            if idle > 60:
                raise MemlaneError(f"timed out reading {topic}")
            continue
        for message in batch:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(error)
            partition, offset = message.partition(), message.offset()
            if partition is None or offset is None or partition not in wanted or offset >= wanted[partition][1]:
                continue
            positions[partition] = offset + 1
            out.append(message)
    return out


def dlq_status(kafka: KafkaConnection, topic: str, fallback_group: str) -> DlqStatus:
    """Parked requests of the DLQ `topic` by error class and attempts (read-only; joins no group)."""
    consumer = make_consumer(kafka, fallback_group)
    status = DlqStatus()
    try:
        marks = end_offsets(consumer, topic)
        starts = _start_offsets(consumer, topic, marks)
        for partition, (low, high) in marks.items():
            status.total += high - low
            status.handled += starts[partition] - low
            status.by_partition[partition] = (starts[partition], high)
        reader = make_consumer(kafka, f"memlane-dlq-status-{uuid.uuid4().hex[:8]}")
        try:
            for message in _read_range(reader, topic, starts, {p: high for p, (_low, high) in marks.items()}):
                info = ErrorInfo.from_headers(message_headers(message))
                status.parked += 1
                status.by_class[info.error_class if info else "unknown"] += 1
                status.by_attempts[info.attempts if info else 1] += 1
        finally:
            reader.close()
    finally:
        consumer.close()
    return status


def _group_members(kafka: KafkaConnection, group: str) -> int:
    admin = AdminClient(kafka.as_librdkafka_dict())
    try:
        described = admin.describe_consumer_groups([group])[group].result(timeout=30)
    except KafkaException as exc:
        error = exc.args[0]
        if getattr(error, "code", lambda: None)() == KafkaError.GROUP_ID_NOT_FOUND:
            return 0
        raise MemlaneError(f"cannot describe consumer group {group}: {error}") from exc
    return len(described.members)


def redrive(kafka: KafkaConnection, topic: str, requests_topic: str, group: str) -> DlqStatus:
    """Send every request parked in the DLQ `topic` back to `requests_topic`; commit the fallback `group` past them.

    Refuses while the fallback group has members: a running fallback would handle the same requests
    with Claude while extraction handles them again.
    """
    members = _group_members(kafka, group)
    if members:
        raise MemlaneError(f"the fallback group {group} has {members} member(s): stop `memlane worker fallback` first")
    consumer = make_consumer(kafka, group)
    producer = ReliableProducer(kafka)
    moved = DlqStatus()
    try:
        marks = end_offsets(consumer, topic)
        starts = _start_offsets(consumer, topic, marks)
        ends = {p: high for p, (_low, high) in marks.items()}
        messages = _read_range(consumer, topic, starts, ends)
        for message in messages:
            info = ErrorInfo.from_headers(message_headers(message))
            headers = without_error_headers(message_headers(message))
            headers = [(k, v) for k, v in headers if k != REDRIVE_HEADER]
            headers.append((REDRIVE_HEADER, str(redrive_count(message_headers(message)) + 1).encode()))
            producer.send(requests_topic, message.value() or b"", key=message.key(), headers=headers)
            moved.parked += 1
            moved.by_class[info.error_class if info else "unknown"] += 1
        producer.flush()
        producer.raise_on_failures()
        commits = [TopicPartition(topic, p, end) for p, end in ends.items() if end > starts[p]]
        if commits:
            try:
                consumer.commit(offsets=commits, asynchronous=False)
            except KafkaException as exc:
                raise MemlaneError(
                    f"re-drove {moved.parked} request(s) but could not move the fallback group past them "
                    f"({exc.args[0]}); stop `memlane worker fallback` while re-driving"
                ) from exc
        moved.total = moved.parked
    finally:
        consumer.close()
        producer.close()
    return moved


__all__ = ["DlqStatus", "dlq_status", "redrive"]
