"""What a confluent-kafka worker is made of: how it reads its input, and the loop built from its spec.

    SPEC = WorkerSpec("sink-qdrant", "sink_qdrant", MemoryBatch, lambda topics: topics.memories, validate=...)
    loop, sink = build_worker(SPEC, ctx, lambda producer: QdrantSink(store), group_id=..., batch_size=...)

The loop decodes with the spec's `RecordDecoder` (`streams.kafka.decoding`) and quarantines what fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from confluent_kafka import KafkaError

from schemas.events import EventModel
from sinks.base import Sink
from streams.health import HEALTH
from streams.kafka.consumer import make_consumer
from streams.kafka.context import StreamContext
from streams.kafka.decoding import RecordDecoder
from streams.kafka.loop import ConsumerLoop
from streams.kafka.parking import Overflow
from streams.kafka.producer import ReliableProducer
from streams.kafka.topic_catalogue import TopicNames

E = TypeVar("E", bound=EventModel)


S = TypeVar("S", bound=Sink[Any])


@dataclass(frozen=True)
class WorkerSpec(Generic[E]):
    """What makes a confluent-kafka worker: its name, the stage name its quarantine headers carry, the event
    model it reads, the topic it reads (from the topic names), and the checks a decoded event must pass."""

    component: str
    stage: str
    model: type[E]
    topic: Callable[[TopicNames], str]
    validate: Callable[[E], None] | None = None


DEFAULT_MAX_POLL_INTERVAL_MS = 300_000
"""librdkafka's default `max.poll.interval.ms`."""


def build_worker(
    spec: WorkerSpec[E],
    ctx: StreamContext,
    sink_for: Callable[[ReliableProducer], S],
    *,
    group_id: str,
    batch_size: int,
    max_poll_interval_ms: int | None = None,
    overflow: Overflow | None = None,
) -> tuple[ConsumerLoop[E], S]:
    """A worker's loop: its own reliable producer, the sink built on it, and an at-least-once consumer."""
    producer = ReliableProducer(ctx.kafka)
    sink = sink_for(producer)
    overrides = {} if max_poll_interval_ms is None else {"max.poll.interval.ms": max_poll_interval_ms}
    # a loop silent for longer than a batch may take (the poll interval) and a minute more is not live
    HEALTH.stale_after_s = (max_poll_interval_ms or DEFAULT_MAX_POLL_INTERVAL_MS) / 1000 + 60

    def on_client_error(error: KafkaError) -> None:  # librdkafka calls it inside consume(), once `loop` exists
        loop.on_client_error(error)

    loop = ConsumerLoop(
        component=spec.component,
        consumer=make_consumer(ctx.kafka, group_id, error_cb=on_client_error, **overrides),
        topics=[spec.topic(ctx.topics)],
        decoder=RecordDecoder(spec.model, ctx.codec, stage=spec.stage, validate=spec.validate),
        sink=sink,
        producer=producer,
        quarantine_topic=ctx.topics.quarantine,
        overflow=overflow,
        batch_size=batch_size,
    )
    return loop, sink


__all__ = ["DEFAULT_MAX_POLL_INTERVAL_MS", "WorkerSpec", "build_worker"]
