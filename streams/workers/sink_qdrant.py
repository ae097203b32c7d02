"""Qdrant sink: `memories` -> embeddings -> the memory store (embedded Qdrant shard by default).

A `Sink` over the consumer loop: `add` upserts one `MemoryBatch` (`MemoryStore.upsert` embeds the memories
and writes them under deterministic point ids; a replayed batch is a no-op, a near-duplicate updates the
memory it repeats) and `flush` makes the store durable once per Kafka batch, at the loop's checkpoint,
before the offsets are committed. The store's per-upsert flush is off (`sink_settings`). A sink killed
between a write and the commit replays the uncommitted messages on restart, and replays change nothing.

Undecodable messages and batches that can never be stored (no tenant or user) go to quarantine with
`memlane.error.*` headers; the stream goes on. A saturated store (`SinkBackpressureError`) commits what was
written and waits; any other store error retries the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from schemas.errors import ValidationError
from schemas.events import MemoryBatch
from sinks.base import SinkRecord
from sinks.memory_store import MemoryStore, UpsertReport
from sinks.sink_settings import SinkSettings
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import MEMORIES_WRITTEN
from streams.workers.worker_sink import WorkerCounts, WorkerSink

log = structlog.get_logger(__name__)

COMPONENT = "sink-qdrant"
STAGE = "sink_qdrant"


@dataclass
class QdrantSinkCounts(WorkerCounts):
    """What the sink did since it started, memory by memory (batches for quarantine)."""

    batches: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def check_batch(batch: MemoryBatch) -> None:
    """Raise `ValidationError` for a batch the store can never accept (retrying would not help)."""
    if not batch.tenant_id.strip():
        raise ValidationError(f"memory batch {batch.batch_id} has no tenant_id", field="tenant_id")
    if not batch.user_id.strip():
        raise ValidationError(f"memory batch {batch.batch_id} has no user_id", field="user_id")


def sink_settings(settings: SinkSettings) -> SinkSettings:
    """The store's settings with the per-upsert flush off: the sink flushes once per Kafka batch instead."""
    return settings.model_copy(update={"edge_flush_each_upsert": False})


class QdrantSink(WorkerSink[MemoryBatch, QdrantSinkCounts]):
    """Upserts every `MemoryBatch`; `flush()` makes the writes durable."""

    def __init__(self, store: MemoryStore, *, owns_store: bool = True) -> None:
        self.store = store
        self.owns_store = owns_store
        self.counts = QdrantSinkCounts()

    def add(self, record: SinkRecord[MemoryBatch]) -> None:
        self._count(self.store.upsert(record.value))

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

    def close(self) -> None:
        if self.owns_store:
            self.store.close()


SPEC = WorkerSpec(COMPONENT, STAGE, MemoryBatch, lambda topics: topics.memories, validate=check_batch)


__all__ = ["COMPONENT", "SPEC", "QdrantSink", "QdrantSinkCounts", "check_batch", "sink_settings"]
