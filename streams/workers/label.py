"""Label worker: `memories` -> the local model's labels -> `memories` again, as label-only batches, off the write path.

A `BatchingSink` over the consumer loop, in a consumer group of its own (`MEMLANE_LABELS__GROUP_ID`), so the
memory sink never waits for it: memories are searchable with their heuristic tags at once. At the checkpoint
`write` takes the memories of every extracted batch read (its own label batches and memories labelled already
are skipped), labels them `batch_size` at a time per tenant in one `Labeller` call each (the heuristic tags
as a hint, the tag vocabulary as the preferred labels), and publishes, per batch read, one label batch
(`schemas.labels`) with the memories that got labels: same memory ids, same key as the batch it labels, so it
lands on the same partition after it and the memory sink applies it as a payload update; nothing writes
into the store by a side door. The label batch id is deterministic (batch id and model), so a rerun
publishes the same batch again and the sink's replay check makes it a no-op.

A call that fails (its error class of the extraction taxonomy) publishes nothing for its memories: they keep
their heuristic tags, and the failure is counted by model and error class (`memlane_label_calls_total`). No
retry and no Claude: labels are not worth paid tokens. Every call's usage record goes to the usage topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from processors.offload.labels import LabelItem, Labeller, LabelResult
from schemas.events import Memory, MemoryBatch, UsageRecord
from schemas.keys import conversation_key
from schemas.labels import LABELLER, is_label_batch
from sinks.base import BatchingSink, SinkRecord
from sinks.memory_store.tags import tag_text
from streams.kafka.context import StreamContext
from streams.kafka.producer import ReliableProducer
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import LABEL_CALL_SECONDS, LABEL_CALLS, LABEL_MEMORIES, LABEL_REPAIRS, LABEL_TOKENS
from streams.workers.worker_sink import WorkerCounts, WorkerSink

log = structlog.get_logger(__name__)

COMPONENT = "label"
STAGE = "label"
LABELLER_VERSION = "1"
LABEL_NAMESPACE = uuid.UUID("0b7c2a4e-3f51-4d8e-a6f2-51c9e07d3b18")
SPEC = WorkerSpec(COMPONENT, STAGE, MemoryBatch, lambda topics: topics.memories)


@dataclass
class LabelCounts(WorkerCounts):
    """What the label worker did since it started."""

    calls: int = 0
    memories: int = 0
    """Memories sent to the model."""
    labelled: int = 0
    """Memories that got labels (published in a label batch)."""
    label_batches: int = 0
    own_skipped: int = 0
    """Label batches read back (the worker's own output): skipped."""
    failures: dict[str, int] = field(default_factory=dict)
    """Failed calls per `model:error_class`."""
    repairs: dict[str, int] = field(default_factory=dict)


def label_batch_id(batch: MemoryBatch, model: str) -> str:
    """The deterministic id of the label batch of `batch` by `model`."""
    return str(uuid.uuid5(LABEL_NAMESPACE, f"{batch.batch_id}/{model}"))


def label_batch(batch: MemoryBatch, labels: dict[str, tuple[str, ...]], model: str) -> MemoryBatch | None:
    """The label batch of `batch`: its memories that got `labels` (without their context), or None if none did."""
    memories = tuple(
        memory.model_copy(update={"labels": labels[memory.memory_id], "labels_model": model, "context": None})
        for memory in batch.memories
        if memory.memory_id in labels
    )
    if not memories:
        return None
    return batch.model_copy(
        update={
            "batch_id": label_batch_id(batch, model),
            "extractor": LABELLER,
            "extractor_version": LABELLER_VERSION,
            "model": model,
            "prompt_version": None,
            "memories": memories,
        }
    )


def label_items(memories: Sequence[Memory]) -> list[LabelItem]:
    """What the model is shown of each memory: its text and its heuristic tags as a hint."""
    return [LabelItem(m.memory_id, m.text, tag_text(m.text, m.kind, m.tags)) for m in memories]


class LabelSink(BatchingSink[MemoryBatch], WorkerSink[MemoryBatch, LabelCounts]):
    """Labels the memories of a batch of memory batches at the checkpoint and queues their label batches."""

    def __init__(
        self, ctx: StreamContext, labeller: Labeller, producer: ReliableProducer, *, batch_size: int = 8
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.labeller = labeller
        self.producer = producer
        self.batch_size = batch_size
        self.counts = LabelCounts()

    def add(self, record: SinkRecord[MemoryBatch]) -> None:
        if is_label_batch(record.value):
            self.counts.own_skipped += 1
            return
        super().add(record)

    def write(self, batch: Sequence[SinkRecord[MemoryBatch]]) -> None:
        by_tenant: dict[str, list[Memory]] = {}
        for record in batch:
            todo = [m for m in record.value.memories if not m.labels]
            by_tenant.setdefault(record.value.tenant_id, []).extend(todo)
        labels: dict[tuple[str, str], tuple[str, ...]] = {}
        for tenant, memories in by_tenant.items():
            unique = list({m.memory_id: m for m in memories}.values())
            for start in range(0, len(unique), self.batch_size):
                chunk = label_items(unique[start : start + self.batch_size])
                result = self.labeller.label(chunk, tenant_id=tenant)
                self._observe(result, len(chunk))
                labels.update({(tenant, mid): found for mid, found in result.labels.items()})
        model = self.labeller.model
        for record in batch:
            source = record.value
            mine = {m.memory_id: labels[(source.tenant_id, m.memory_id)] for m in source.memories
                    if (source.tenant_id, m.memory_id) in labels}  # fmt: skip
            out = label_batch(source, mine, model)
            if out is None:
                continue
            topic = self.ctx.topics.memories
            self.producer.send(topic, self.ctx.codec.encode(out, topic), key=record.key)
            self.counts.label_batches += 1
            self.counts.labelled += len(out.memories)

    def _observe(self, result: LabelResult, sent: int) -> None:
        model = self.labeller.model
        self.counts.calls += 1
        self.counts.memories += sent
        got = len(result.labels)
        LABEL_MEMORIES.labels(model=model, result="labelled").inc(got)
        LABEL_MEMORIES.labels(model=model, result="unlabelled").inc(sent - got)
        for kind, amount in result.repairs.items():
            if amount:
                LABEL_REPAIRS.labels(model=model, kind=kind).inc(amount)
                self.counts.repairs[kind] = self.counts.repairs.get(kind, 0) + amount
        if result.error_class is not None:
            key = f"{model}:{result.error_class}"
            self.counts.failures[key] = self.counts.failures.get(key, 0) + 1
            log.warning("label.failed", model=model, error_class=result.error_class, error=(result.reason or "")[:300],
                        memories=sent)  # fmt: skip
        if result.usage is not None:
            self._usage(result.usage)

    def _usage(self, usage: UsageRecord) -> None:
        LABEL_CALLS.labels(model=usage.model, outcome=usage.outcome, error_class=usage.error_class or "none").inc()
        LABEL_CALL_SECONDS.labels(model=usage.model).observe(usage.latency_ms / 1000.0)
        LABEL_TOKENS.labels(model=usage.model, direction="in").inc(usage.tokens_in)
        LABEL_TOKENS.labels(model=usage.model, direction="out").inc(usage.tokens_out)
        topic = self.ctx.topics.usage
        key = conversation_key(usage.tenant_id, usage.conversation_id).encode()
        self.producer.send(topic, self.ctx.codec.encode(usage, topic), key=key)

    def close(self) -> None:
        self.labeller.close()


__all__ = [
    "COMPONENT",
    "LABELLER_VERSION",
    "SPEC",
    "LabelCounts",
    "LabelSink",
    "label_batch",
    "label_batch_id",
    "label_items",
]
