"""Extraction worker (the "Jetson agent"): `extraction.requests` -> `memories` + `usage`, failures -> DLQ.

A confluent-kafka consumer group reads requests in batches; each batch is extracted with at most
`ollama_parallelism` calls in flight (match the Ollama server's OLLAMA_NUM_PARALLEL). For every
request exactly one of these is produced before its offset is committed (see `streams.kafka.loop`):
a MemoryBatch (deterministic batch and memory ids, lineage back to the request's offset and the
raw window in the blob store), or the request's original bytes in the DLQ with `memlane.error.*`
headers. Undecodable requests go to quarantine. Every LLM call also yields a UsageRecord.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import Message

from processors.extraction import (
    ExtractionOutcome,
    Extractor,
    SourcePosition,
    build_batch,
    choose_extractor,
    extract_all,
    usage_of,
)
from schemas.codec import EventCodec, codec_for
from schemas.errors import CodecError, ExtractionError
from schemas.events import ExtractionRequest, UsageRecord
from sinks.blobstore import BlobStore
from streams.kafka.loop import ConsumerLoop, worker_loop
from streams.kafka.parking import dead_letter, message_headers, quarantine
from streams.kafka.producer import ReliableProducer
from streams.metrics import EXTRACTIONS, LLM_CALLS, LLM_COST, LLM_LATENCY, LLM_TOKENS, TOKENS_SAVED
from streams.settings import Settings
from streams.windows import window_sha256

log = structlog.get_logger(__name__)
REDRIVE_HEADER = "memlane.redrive.count"


def memory_key(request: ExtractionRequest) -> bytes:
    """Memories are keyed by tenant and user: one user's near-duplicate merges meet in one sink partition."""
    return f"{request.tenant_id}\x1f{request.user_id}".encode()


def redrive_count(message: Message) -> int:
    for key, value in message_headers(message):
        if key == REDRIVE_HEADER and value is not None:
            try:
                return int(value.decode() if isinstance(value, bytes) else value)
            except ValueError:
                return 0
    return 0


@dataclass
class ExtractionCounts:
    extracted: int = 0
    dead_lettered: int = 0
    quarantined: int = 0


class ExtractionHandler:
    """Extracts a batch of requests and queues memories, usage records, DLQ and quarantine messages."""

    def __init__(
        self,
        settings: Settings,
        extractor: Extractor,
        producer: ReliableProducer,
        *,
        codec: EventCodec | None = None,
    ) -> None:
        self.settings = settings
        self.extractor = extractor
        self.producer = producer
        self.codec = codec or codec_for(settings.schema_registry_url, settings.schema_registry_config())
        self.counts = ExtractionCounts()
        self._health: Any = None

    def _check_health(self) -> None:
        """Probe Ollama's `/api/tags` at most every `health_interval_s` (one probe object per worker)."""
        if self._health is None:
            make = getattr(self.extractor, "health", None)
            if not callable(make):
                return
            self._health = make()
        status = self._health.check_if_due()
        if not status.ok:
            log.warning("ollama.unhealthy", error=status.error, missing=list(status.missing))

    def process(self, batch: Sequence[Message]) -> None:
        self._check_health()
        topics = self.settings.topics
        decoded: list[tuple[Message, ExtractionRequest]] = []
        for message in batch:
            try:
                decoded.append((message, self.codec.decode(message.value() or b"", ExtractionRequest, topics.requests)))
            except CodecError as exc:
                quarantine(self.producer, topics.quarantine, message, stage="extract.decode", error=exc)
                self.counts.quarantined += 1
        results = extract_all(
            self.extractor,
            [request for _m, request in decoded],
            parallelism=self.settings.extraction.ollama_parallelism,
        )
        for (message, request), result in zip(decoded, results, strict=True):
            if isinstance(result, ExtractionOutcome):
                self._deliver(message, request, result)
            else:
                self._park(message, request, result)

    def _deliver(self, message: Message, request: ExtractionRequest, outcome: ExtractionOutcome) -> None:
        topics = self.settings.topics
        source = SourcePosition(
            topic=message.topic() or topics.requests,
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            turn_topic=request.source_topic or topics.turns,
            window_blob=window_sha256(request),
        )
        memory_batch = build_batch(request, outcome, source)
        key = memory_key(request)
        self.producer.send(topics.memories, self.codec.encode(memory_batch, topics.memories), key=key)
        publish_usage(self.producer, self.codec, self.settings.topics.usage, request, outcome.usage)
        self.counts.extracted += 1
        EXTRACTIONS.labels(extractor=outcome.extractor, outcome="success").inc()

    def _park(self, message: Message, request: ExtractionRequest, error: ExtractionError) -> None:
        topics = self.settings.topics
        publish_usage(self.producer, self.codec, self.settings.topics.usage, request, usage_of(error))
        dead_letter(
            self.producer,
            topics.dlq,
            message,
            stage="extract",
            error_class=str(error.error_class),
            detail=str(error),
            attempts=1 + redrive_count(message),
        )
        self.counts.dead_lettered += 1
        EXTRACTIONS.labels(extractor=self.extractor.name, outcome="dead_lettered").inc()
        log.warning(
            "extraction.dead_lettered",
            request_id=request.request_id,
            error_class=str(error.error_class),
            error=str(error)[:300],
        )

    def flush(self) -> None:
        """Nothing to flush: every output goes through the loop's producer."""


def publish_usage(
    producer: ReliableProducer,
    codec: EventCodec,
    topic: str,
    request: ExtractionRequest,
    records: Sequence[UsageRecord],
) -> None:
    """Sends a request's usage records to the usage topic (keyed by its conversation) and counts them."""
    for record in records:
        producer.send(topic, codec.encode(record, topic), key=request.conversation_id.encode())
        observe_usage(record)


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


def build_loop(settings: Settings, extractor: Extractor | None = None) -> tuple[ConsumerLoop, ExtractionHandler]:
    ex = settings.extraction
    blobs = BlobStore(settings.blob_dir)
    chosen = extractor or choose_extractor(settings, blobs=blobs)
    loop, handler = worker_loop(
        settings,
        component="extract",
        group_id=ex.worker_group_id,
        topic=settings.topics.requests,
        batch_size=ex.worker_batch_size,
        handler_for=lambda producer: ExtractionHandler(settings, chosen, producer),
        max_poll_interval_ms=max_poll_interval_ms(ex.worker_batch_size, ex.ollama_parallelism, ex.request_timeout_s),
    )
    loop.on_close(blobs.close)
    return loop, handler


def run(
    settings: Settings, *, idle_exit_s: float | None = None, extractor: Extractor | None = None
) -> ExtractionCounts:
    """Run the extraction worker until stopped (or idle for `idle_exit_s`)."""
    loop, handler = build_loop(settings, extractor)
    log.info("extract.worker", extractor=handler.extractor.name)
    close = getattr(handler.extractor, "close", None)
    loop.serve(idle_exit_s=idle_exit_s, on_close=close if callable(close) else None)
    return handler.counts


__all__ = [
    "REDRIVE_HEADER",
    "ExtractionHandler",
    "build_loop",
    "max_poll_interval_ms",
    "memory_key",
    "observe_usage",
    "publish_usage",
    "redrive_count",
    "run",
]
