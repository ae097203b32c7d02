"""Delivering what an extractor produced: the MemoryBatch and its usage records, written once for every worker.

The extraction worker and the Claude fallback both end a successful request the same way: build the
`MemoryBatch` (deterministic batch and memory ids, lineage back to the request's position and to the raw
window in the blob store), send it keyed by tenant and user, and send one `UsageRecord` per LLM call. A summary
(the summarise worker's, or the fallback's level-3 one) is delivered the same way (`deliver_summary`). Usage
records of failed calls are sent too: they cost money whatever the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from processors.extraction import ExtractionOutcome, SourcePosition, build_batch
from processors.offload.summaries import SummaryOutcome, summary_batch
from schemas.events import ExtractionRequest, MemoryBatch, UsageRecord
from schemas.keys import conversation_key, person_key
from sinks.base import SinkRecord
from sinks.blobstore.windows import window_sha256
from streams.kafka.context import StreamContext
from streams.kafka.headers import ErrorInfo
from streams.kafka.producer import ReliableProducer
from streams.metrics import EXTRACTIONS, LLM_CALLS, LLM_COST, LLM_LATENCY, LLM_TOKENS, TOKENS_SAVED


def memory_key(request: ExtractionRequest) -> bytes:
    """Memories are keyed by tenant and user: one user's near-duplicate merges meet in one sink partition."""
    return person_key(request.tenant_id, request.user_id).encode("utf-8")


def source_of(record: SinkRecord[Any], request: ExtractionRequest, ctx: StreamContext) -> SourcePosition:
    """Where the request was read; for a parked request, where it was read before it was parked."""
    origin = ErrorInfo.from_headers(record.headers)
    return SourcePosition(
        topic=origin.topic if origin else record.topic,
        partition=origin.partition if origin else record.partition,
        offset=origin.offset if origin else record.offset,
        turn_topic=request.source_topic or ctx.topics.turns,
        window_blob=window_sha256(request),
    )


def deliver_memories(
    producer: ReliableProducer,
    ctx: StreamContext,
    record: SinkRecord[ExtractionRequest],
    outcome: ExtractionOutcome,
) -> MemoryBatch:
    """Send the request's MemoryBatch and its usage records; returns the batch."""
    request = record.value
    batch = build_batch(request, outcome, source_of(record, request, ctx))
    producer.send(ctx.topics.memories, ctx.codec.encode(batch, ctx.topics.memories), key=memory_key(request))
    publish_usage(producer, ctx, request, outcome.usage)
    EXTRACTIONS.labels(extractor=outcome.extractor, outcome="success").inc()
    return batch


def deliver_summary(
    producer: ReliableProducer,
    ctx: StreamContext,
    record: SinkRecord[ExtractionRequest],
    request: ExtractionRequest,
    outcome: SummaryOutcome,
    *,
    users: Sequence[str] | None = None,
    indexes: Sequence[int] | None = None,
) -> MemoryBatch:
    """Send the summary memory of `request` (read as `record`) and its usage records; returns the batch."""
    batch = summary_batch(request, outcome, source_of(record, record.value, ctx), users=users, indexes=indexes)
    producer.send(ctx.topics.memories, ctx.codec.encode(batch, ctx.topics.memories), key=memory_key(request))
    publish_usage(producer, ctx, request, outcome.usage)
    return batch


def failed_model(usage: Sequence[UsageRecord], extractor_name: str) -> str:
    """The model a failed request is charged to: that of its last LLM call, or the extractor when none was made."""
    return usage[-1].model if usage else extractor_name


def publish_usage(
    producer: ReliableProducer, ctx: StreamContext, request: ExtractionRequest, records: Sequence[UsageRecord]
) -> None:
    """Send a request's usage records to the usage topic (keyed by its conversation) and count them."""
    topic = ctx.topics.usage
    for usage in records:
        producer.send(
            topic,
            ctx.codec.encode(usage, topic),
            key=conversation_key(request.tenant_id, request.conversation_id).encode(),
        )
        observe_usage(usage)


def observe_usage(record: UsageRecord) -> None:
    """Prometheus view of one usage record (calls, latency, tokens, cost, cloud tokens saved)."""
    LLM_CALLS.labels(provider=record.provider, model=record.model, outcome=record.outcome).inc()
    LLM_LATENCY.labels(provider=record.provider).observe(record.latency_ms / 1000.0)
    LLM_TOKENS.labels(provider=record.provider, direction="in").inc(record.tokens_in)
    LLM_TOKENS.labels(provider=record.provider, direction="out").inc(record.tokens_out)
    LLM_COST.labels(provider=record.provider).inc(record.cost_usd)
    if record.provider != "anthropic" and record.outcome == "success":
        TOKENS_SAVED.inc(record.tokens_in + record.tokens_out)


def max_poll_interval_ms(batch_size: int, parallelism: int, call_timeout_s: float, attempts: int = 1) -> int:
    """A poll interval the slowest possible batch fits in (every call timing out), with a margin.

    Kafka drops a consumer that does not poll within `max.poll.interval.ms`; a batch that outlives it
    fails its commit and is extracted (and paid for) again.
    """
    rounds = -(-batch_size // max(1, parallelism))
    worst_s = rounds * call_timeout_s * attempts * 1.5 + 60.0
    return max(600_000, int(worst_s * 1000))


__all__ = [
    "deliver_memories",
    "deliver_summary",
    "failed_model",
    "max_poll_interval_ms",
    "memory_key",
    "observe_usage",
    "publish_usage",
    "source_of",
]
