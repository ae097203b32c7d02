"""Consumers: the at-least-once configuration and a bounded reader for topics.

Every memlane consumer commits manually (`enable.auto.commit=false`) and only after the produce or
sink write that covers the offsets has been acknowledged; see `streams.kafka.loop` for the fixed
order. `read_topic` reads a topic from its current start to its end offsets (tests, `make run`,
tools) without joining a long-lived group.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import MemlaneError
from streams.kafka.connection import KafkaConnection

AT_LEAST_ONCE_CONF: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "partition.assignment.strategy": "cooperative-sticky",
    "session.timeout.ms": 30000,
    "max.poll.interval.ms": 600000,
}


_LEADERSHIP_MOVING = frozenset(
    {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError._TRANSPORT}
)


def consumer_config(kafka: KafkaConnection, group_id: str, **overrides: Any) -> dict[str, Any]:
    """The librdkafka settings of an at-least-once consumer in `group_id` (with the connection's session timeout)."""
    conf: dict[str, Any] = {"group.id": group_id, **AT_LEAST_ONCE_CONF}
    if kafka.session_timeout_s is not None:
        conf["session.timeout.ms"] = int(kafka.session_timeout_s * 1000)
    return kafka.as_librdkafka_dict(**{**conf, **overrides})


def make_consumer(kafka: KafkaConnection, group_id: str, **overrides: Any) -> Consumer:
    """A consumer in `group_id` configured for at-least-once processing."""
    return Consumer(consumer_config(kafka, group_id, **overrides))


def end_offsets(consumer: Consumer, topic: str, timeout: float = 30.0) -> dict[int, tuple[int, int]]:
    """(low, high) watermarks per partition of `topic`."""
    metadata = consumer.list_topics(topic, timeout=timeout)
    if topic not in metadata.topics or metadata.topics[topic].error is not None:
        raise MemlaneError(f"topic {topic} does not exist")
    marks: dict[int, tuple[int, int]] = {}
    deadline = time.monotonic() + timeout
    for partition in metadata.topics[topic].partitions:
        while True:
            try:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
                break
            except KafkaException as exc:
                error = exc.args[0]
                moving = error.code() in _LEADERSHIP_MOVING or error.retriable()
                if not moving or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # leadership moving (new topic): ask again
        marks[partition] = (low, high)
    return marks


def read_topic(
    kafka: KafkaConnection,
    topic: str,
    *,
    timeout: float = 60.0,
    group_id: str | None = None,
    partitions: Sequence[int] | None = None,
) -> Iterator[Message]:
    """Every message currently in `topic` (start to end offsets at call time), partition by partition order."""
    consumer = make_consumer(
        kafka, group_id or f"memlane-reader-{uuid.uuid4().hex[:12]}", **{"enable.partition.eof": False}
    )
    try:
        marks = end_offsets(consumer, topic)
        wanted = {p: mark for p, mark in marks.items() if (partitions is None or p in partitions) and mark[1] > mark[0]}
        if not wanted:
            return
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in wanted])
        positions = {p: low for p, (low, _high) in wanted.items()}
        deadline = time.monotonic() + timeout
        while any(positions[p] < wanted[p][1] for p in wanted):
            if time.monotonic() > deadline:
                missing = sum(wanted[p][1] - positions[p] for p in wanted)
                raise MemlaneError(f"timed out reading {topic}: {missing} message(s) not read")
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(error)
                partition = message.partition()
                offset = message.offset()
                if partition is None or offset is None or partition not in wanted:
                    continue
                positions[partition] = offset + 1
                if offset < wanted[partition][1]:
                    yield message
    finally:
        consumer.close()


__all__ = ["AT_LEAST_ONCE_CONF", "consumer_config", "end_offsets", "make_consumer", "read_topic"]
