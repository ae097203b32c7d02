"""Qdrant sink: `memories` -> embeddings -> the memory store (embedded Qdrant shard by default).

For every `MemoryBatch` the handler calls `MemoryStore.upsert`, which embeds the memories and writes
them under deterministic point ids (a memory id always maps to the same point; a replayed batch is a
no-op, a near-duplicate updates the memory it repeats). The store's per-upsert flush is turned off:
the handler's `flush()` makes the whole Kafka batch durable once, and `streams.kafka.loop` commits
the batch's offsets only after it returned. A sink killed between a write and the commit replays the
uncommitted messages on restart, and replays change nothing.

Undecodable messages and batches that can never be stored (no tenant or user) go to quarantine with
`memlane.error.*` headers; the stream goes on. A saturated store (`SinkBackpressureError`) commits the
handled prefix and waits; any other store error retries the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Message

from schemas.codec import EventCodec, codec_for
from schemas.errors import CodecError, SinkBackpressureError, ValidationError
from schemas.events import MemoryBatch
from sinks.memory_store import MemoryStore, UpsertReport, open_memory_store
from streams.kafka.loop import ConsumerLoop, PartialBatch, worker_loop
from streams.kafka.parking import quarantine
from streams.kafka.producer import ReliableProducer
from streams.metrics import MEMORIES_WRITTEN
from streams.settings import Settings

log = structlog.get_logger(__name__)

GROUP_ID = "memlane-sink-qdrant"
BATCH_SIZE = 200
COMPONENT = "sink-qdrant"


@dataclass
class QdrantSinkCounts:
    """What the sink did since it started, memory by memory (batches for quarantine)."""

    batches: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0


def check_batch(batch: MemoryBatch) -> None:
    """Raise `ValidationError` for a batch the store can never accept (retrying would not help)."""
    if not batch.tenant_id.strip():
        raise ValidationError(f"memory batch {batch.batch_id} has no tenant_id", field="tenant_id")
    if not batch.user_id.strip():
        raise ValidationError(f"memory batch {batch.batch_id} has no user_id", field="user_id")


class QdrantSinkHandler:
    """Upserts every decoded `MemoryBatch` of a Kafka batch; `flush()` makes the writes durable."""

    def __init__(
        self,
        settings: Settings,
        store: MemoryStore,
        producer: ReliableProducer,
        *,
        codec: EventCodec | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.producer = producer
        self.codec = codec or codec_for(settings.schema_registry_url, settings.schema_registry_config())
        self.counts = QdrantSinkCounts()

    def _decode(self, message: Message) -> MemoryBatch | None:
        topics = self.settings.topics
        try:
            batch = self.codec.decode(message.value() or b"", MemoryBatch, topics.memories)
            check_batch(batch)
        except (CodecError, ValidationError) as exc:
            stage = "sink_qdrant.decode" if isinstance(exc, CodecError) else "sink_qdrant.validate"
            quarantine(self.producer, topics.quarantine, message, stage=stage, error=exc)
            self.counts.quarantined += 1
            return None
        return batch

    def process(self, batch: Sequence[Message]) -> None:
        for position, message in enumerate(batch):
            memory_batch = self._decode(message)
            if memory_batch is None:
                continue
            try:
                report = self.store.upsert(memory_batch)
            except SinkBackpressureError as exc:
                raise PartialBatch(position, exc.retry_after, str(exc)) from exc
            self._count(report)

    def _count(self, report: UpsertReport) -> None:
        self.counts.batches += 1
        self.counts.inserted += len(report.inserted)
        self.counts.updated += len(report.updated)
        self.counts.unchanged += len(report.unchanged)
        for action, amount in (
            ("inserted", len(report.inserted)),
            ("updated", len(report.updated)),
            ("unchanged", len(report.unchanged)),
        ):
            if amount:
                MEMORIES_WRITTEN.labels(action=action).inc(amount)

    def flush(self) -> None:
        """Checkpoint: every upsert of the batch reaches disk before its offsets are committed."""
        self.store.flush()


def sink_settings(settings: Settings) -> Settings:
    """`settings` with the store's per-upsert flush off: the sink flushes once per Kafka batch instead."""
    sinks = settings.sinks.model_copy(update={"edge_flush_each_upsert": False})
    return settings.model_copy(update={"sinks": sinks})


def build_loop(
    settings: Settings,
    store: MemoryStore | None = None,
    *,
    group_id: str = GROUP_ID,
    batch_size: int = BATCH_SIZE,
) -> tuple[ConsumerLoop, QdrantSinkHandler]:
    """The sink's consumer loop and handler (opens the configured memory store unless one is given)."""
    memory_store = store or open_memory_store(sink_settings(settings))
    return worker_loop(
        settings,
        component=COMPONENT,
        group_id=group_id,
        topic=settings.topics.memories,
        batch_size=batch_size,
        handler_for=lambda producer: QdrantSinkHandler(settings, memory_store, producer),
    )


def run(
    settings: Settings,
    *,
    idle_exit_s: float | None = None,
    store: MemoryStore | None = None,
    group_id: str = GROUP_ID,
    batch_size: int = BATCH_SIZE,
) -> QdrantSinkCounts:
    """Run the Qdrant sink until stopped (or idle for `idle_exit_s`); closes the store it opened."""
    loop, handler = build_loop(settings, store, group_id=group_id, batch_size=batch_size)
    loop.serve(idle_exit_s=idle_exit_s, on_close=handler.store.close if store is None else None)
    log.info("sink_qdrant.stopped", **vars(handler.counts))
    return handler.counts


__all__ = [
    "BATCH_SIZE",
    "GROUP_ID",
    "QdrantSinkCounts",
    "QdrantSinkHandler",
    "build_loop",
    "check_batch",
    "run",
]
