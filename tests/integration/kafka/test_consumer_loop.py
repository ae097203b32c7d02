"""The worker loop's contract on the real broker: commit only after the outputs it covers are acknowledged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from schemas.events import EventModel
from sinks.base import Sink, SinkRecord
from streams.kafka.consumer import make_consumer, read_topic
from streams.kafka.decoding import RecordDecoder
from streams.kafka.loop import ConsumerLoop
from streams.kafka.producer import ReliableProducer
from streams.settings import Settings


class RawValue(EventModel):
    """The test topic's messages are plain bytes: this "event" is the raw value itself."""

    value: bytes


class RawCodec:
    """Decodes any message into a `RawValue` (the loop's decode step, without Avro)."""

    wire_format = "raw"

    def encode(self, event: EventModel, topic: str) -> bytes:
        raise NotImplementedError

    def decode(self, raw: bytes, model: type[Any], topic: str) -> Any:
        return RawValue(value=raw)


class CopySink(Sink[RawValue]):
    """Copies each message to an output topic; fails on the first attempt at a chosen message."""

    def __init__(self, producer: ReliableProducer, out_topic: str, fail_on: bytes | None) -> None:
        self.producer = producer
        self.out_topic = out_topic
        self.fail_on = fail_on
        self.attempts = 0
        self.flushes = 0

    def add(self, record: SinkRecord[RawValue]) -> None:
        if record.raw == self.fail_on:
            self.fail_on = None
            self.attempts += 1
            raise RuntimeError("sink unavailable")
        self.producer.send(self.out_topic, record.raw, key=record.key)

    def flush(self) -> None:
        self.flushes += 1


def _committed(settings: Settings, group: str, topic: str) -> int:
    consumer = make_consumer(settings.kafka, group)
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        from confluent_kafka import TopicPartition

        parts = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def test_failed_batch_is_retried_and_nothing_is_lost(
    kafka_settings: Settings, new_group_id: Callable[[str], str]
) -> None:
    source, out = kafka_settings.topics.turns, kafka_settings.topics.requests
    producer = Producer(kafka_settings.kafka_config())
    values = [f"m{i:03d}".encode() for i in range(300)]
    for value in values:
        producer.produce(source, value=value, key=value[-1:])
    assert producer.flush(30) == 0

    group = new_group_id("loop")
    reliable = ReliableProducer(kafka_settings.kafka)
    handler = CopySink(reliable, out, fail_on=b"m150")
    loop = ConsumerLoop(
        component="test",
        consumer=make_consumer(kafka_settings.kafka, group),
        topics=[source],
        decoder=RecordDecoder(RawValue, RawCodec(), stage="test"),
        sink=handler,
        producer=reliable,
        quarantine_topic=kafka_settings.topics.quarantine,
        batch_size=40,
        retry_backoff_s=0.05,
    )
    stats = loop.run(idle_exit_s=3.0)
    assert handler.attempts == 1 and stats.failures == 1
    copied = [m.value() for m in read_topic(kafka_settings.kafka, out)]
    assert set(copied) == set(values), "every message reached the output despite the failed batch"
    assert _committed(kafka_settings, group, source) == 300
    assert handler.flushes == stats.batches
