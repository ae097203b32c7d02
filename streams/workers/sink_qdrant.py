"""Qdrant sink: `memories` -> embeddings -> the memory store (embedded Qdrant shard by default).

A `Sink` over the consumer loop: `add` upserts one `MemoryBatch` (`MemoryStore.upsert` embeds the memories
and writes them under deterministic point ids; a replayed batch is a no-op, a near-duplicate updates the
memory it repeats) and `flush` makes the store durable once per Kafka batch, at the loop's checkpoint,
before the offsets are committed. A label batch (`schemas.labels`, from `memlane worker label`) is applied by
the same `upsert` as a payload update of the memories it names: no new memory, no new version. The store's
per-upsert flush is off (`sink_settings`). A sink killed between a write and the commit replays the uncommitted
messages on restart, and replays change nothing.

Undecodable messages and batches that can never be stored (no tenant or user) go to quarantine with
`memlane.error.*` headers; the stream goes on. A saturated store (`SinkBackpressureError`) commits what was
written and waits; any other store error retries the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from schemas.errors import ValidationError
from schemas.events import MemoryBatch
from sinks.base import SinkRecord
from sinks.memory_store import MemoryStore, UpsertReport
from sinks.sink_settings import SinkSettings
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import LABELS_APPLIED, MEMORIES_WRITTEN, TURN_TO_SEARCHABLE
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
    labelled: int = 0
    """Memories of label batches whose labels were applied."""
    labels_skipped: int = 0
    """Memories of label batches skipped (a replay, a changed text, not stored)."""


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
        self._fresh: list[tuple[str, datetime]] = []

    def add(self, record: SinkRecord[MemoryBatch]) -> None:
        report = self.store.upsert(record.value)
        self._count(report)
        self._fresh.extend(new_memory_clocks(record.value, set(report.inserted) | set(report.updated)))

    def _count(self, report: UpsertReport) -> None:
        self.counts.batches += 1
        self.counts.inserted += len(report.inserted)
        self.counts.updated += len(report.updated)
        self.counts.unchanged += len(report.unchanged)
        self.counts.labelled += len(report.labelled)
        self.counts.labels_skipped += len(report.labels_skipped)
        for result, amount in (("applied", len(report.labelled)), ("skipped", len(report.labels_skipped))):
            if amount:
                LABELS_APPLIED.labels(result=result).inc(amount)
        for action, amount in (
            ("inserted", len(report.inserted)),
            ("updated", len(report.updated)),
            ("unchanged", len(report.unchanged)),
        ):
            if amount:
                MEMORIES_WRITTEN.labels(action=action).inc(amount)

    def flush(self) -> None:
        """Checkpoint: every upsert of the batch reaches disk before its offsets are committed; the memories it
        made searchable are timed from their turn's publication (`memlane_turn_to_searchable_seconds`)."""
        self.store.flush()
        now = datetime.now(UTC)
        for priority_class, published in self._fresh:
            TURN_TO_SEARCHABLE.labels(priority_class=priority_class).observe(
                max(0.0, (now - published).total_seconds())
            )
        self._fresh.clear()

    def close(self) -> None:
        if self.owns_store:
            self.store.close()


def new_memory_clocks(batch: MemoryBatch, new_ids: set[str]) -> list[tuple[str, datetime]]:
    """(priority class, publish time) of the first source turn of every memory of `batch` in `new_ids`."""
    lineage = batch.lineage
    if not lineage.turn_published_at or len(lineage.turn_indexes) != len(lineage.turn_published_at):
        return []  # written before batches carried their turns' publish times
    by_index = {
        index: (priority, published)
        for index, published, priority in zip(
            lineage.turn_indexes, lineage.turn_published_at, lineage.turn_priority_classes, strict=False
        )
    }
    clocks = []
    for memory in batch.memories:
        if memory.memory_id not in new_ids:
            continue  # already searchable before: a replay or a repeat is not a new memory
        indexes = [i for i in memory.source_turn_indexes if i in by_index] or list(by_index)[:1]
        if indexes:
            clocks.append(by_index[min(indexes)])
    return clocks


SPEC = WorkerSpec(COMPONENT, STAGE, MemoryBatch, lambda topics: topics.memories, validate=check_batch)


__all__ = ["COMPONENT", "SPEC", "QdrantSink", "QdrantSinkCounts", "check_batch", "new_memory_clocks", "sink_settings"]
