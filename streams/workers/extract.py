"""Extraction worker (the "Jetson agent"): `extraction.requests` -> `memories` + `usage`, failures -> DLQ.

A `BatchingSink` over the consumer loop (`streams.kafka.loop`): the loop decodes each request (undecodable
ones go to quarantine) and adds it; at the checkpoint, `write` extracts the whole batch with at most
`ollama_parallelism` calls in flight (match the server's OLLAMA_NUM_PARALLEL) and queues, for every
request, exactly one of: its MemoryBatch (`memory_delivery`), or its original bytes in the DLQ with
`memlane.error.*` headers. The loop commits the batch's offsets only after all of it is acknowledged.
Every LLM call also yields a UsageRecord. Requests of another task (`task=summary`, the summarise worker's)
are left alone: committed with the batch and counted (`memlane_requests_left_total`).
Failures are counted per model and error class, and the repairs
answers needed per model and repair (`memlane_extraction_failures_total`, `memlane_extraction_repairs_total`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from processors.extraction import ExtractionOutcome, Extractor, extract_all, usage_of
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest
from sinks.base import BatchingSink, SinkRecord
from streams.kafka.context import StreamContext
from streams.kafka.headers import redrive_count
from streams.kafka.parking import Overflow, dead_letter
from streams.kafka.producer import ReliableProducer
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import EXTRACTION_FAILURES, EXTRACTION_REPAIRS, EXTRACTIONS, PROMPT_MISMATCHES, REQUESTS_LEFT
from streams.workers.memory_delivery import deliver_memories, failed_model, publish_usage
from streams.workers.worker_sink import WorkerCounts, WorkerSink

log = structlog.get_logger(__name__)

COMPONENT = "extract"
SPEC = WorkerSpec(COMPONENT, COMPONENT, ExtractionRequest, lambda topics: topics.requests)


@dataclass
class ExtractionCounts(WorkerCounts):
    extracted: int = 0
    dead_lettered: int = 0
    repairs: int = 0
    left: int = 0
    """Requests of another task (summaries) left to their worker."""
    failures: dict[str, int] = field(default_factory=dict)
    """Dead-lettered requests per `model:error_class`."""


class ExtractionSink(BatchingSink[ExtractionRequest], WorkerSink[ExtractionRequest, ExtractionCounts]):
    """Extracts a batch of requests at the checkpoint and queues memories, usage records and DLQ messages."""

    def __init__(
        self,
        ctx: StreamContext,
        extractor: Extractor,
        producer: ReliableProducer,
        *,
        parallelism: int = 1,
        overflow: Overflow | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.overflow = overflow
        self.extractor = extractor
        self.producer = producer
        self.parallelism = parallelism
        self.counts = ExtractionCounts()
        self._health = extractor.health()

    def write(self, batch: Sequence[SinkRecord[ExtractionRequest]]) -> None:
        others = [record for record in batch if record.value.task != "extract"]
        for record in others:  # summary requests are the summarise worker's: committed here, counted
            REQUESTS_LEFT.labels(component=COMPONENT, task=record.value.task).inc()
            self.counts.left += 1
        batch = [record for record in batch if record.value.task == "extract"]
        if not batch:
            return
        if any(redrive_count(record.headers) for record in batch):
            self.extractor.redriven()
        status = self._health.check_if_due()
        if not status.ok:
            log.warning(
                "extractor.unhealthy", extractor=self.extractor.name, error=status.error, missing=status.missing
            )
        results = extract_all(self.extractor, [record.value for record in batch], parallelism=self.parallelism)
        for record, result in zip(batch, results, strict=True):
            if isinstance(result, ExtractionOutcome):
                deliver_memories(self.producer, self.ctx, record, result)
                self.counts.extracted += 1
                self._observe(result)
            else:
                self._park(record, result)

    def _observe(self, outcome: ExtractionOutcome) -> None:
        model = outcome.model or outcome.extractor
        for repair in outcome.repairs:
            EXTRACTION_REPAIRS.labels(model=model, repair=repair).inc()
            self.counts.repairs += 1
        if outcome.prompt_mismatch:
            PROMPT_MISMATCHES.labels(model=model).inc()

    def _park(self, record: SinkRecord[ExtractionRequest], error: ExtractionError) -> None:
        request = record.value
        usage = usage_of(error)
        model = failed_model(usage, self.extractor.name)
        EXTRACTION_FAILURES.labels(model=model, error_class=str(error.error_class)).inc()
        key = f"{model}:{error.error_class}"
        self.counts.failures[key] = self.counts.failures.get(key, 0) + 1
        publish_usage(self.producer, self.ctx, request, usage)
        dead_letter(
            self.producer,
            self.ctx.topics.dlq,
            record,
            stage=COMPONENT,
            error_class=str(error.error_class),
            detail=str(error),
            attempts=1 + redrive_count(record.headers),
            model=model,
            overflow=self.overflow,
        )
        self.counts.dead_lettered += 1
        EXTRACTIONS.labels(extractor=self.extractor.name, outcome="dead_lettered").inc()
        log.warning(
            "extraction.dead_lettered",
            request_id=request.request_id,
            error_class=str(error.error_class),
            error=str(error)[:300],
        )

    def close(self) -> None:
        self.extractor.close()


__all__ = ["COMPONENT", "SPEC", "ExtractionCounts", "ExtractionSink"]
