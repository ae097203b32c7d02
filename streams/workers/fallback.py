"""Fallback consumer: drains the dead-letter topic to Claude; what it cannot handle now stays parked.

For each parked request, in order per partition:

- Claude answers: a MemoryBatch (`extractor=claude`) and the usage records are produced, then the DLQ
  offset is committed.
- Claude is unavailable (no key, budget spent, down, overloaded, rate limited beyond the backoff, auth
  failure): nothing more is committed; the handled prefix is, and the worker waits
  `fallback_park_cooldown_s` before trying the same request again. Parked requests stay in the DLQ,
  counted by `memlane dlq status`, and `memlane dlq redrive` can send them back to extraction.
- Claude answered but the answer was unusable (invalid JSON, schema violation, low confidence): the
  request is parked again at the DLQ's tail with one more attempt, up to `MAX_ATTEMPTS`; after that,
  or for a request Claude rejects as bad, it goes to quarantine. Either way it stays accounted for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Message

from processors.extraction import (
    DailyBudget,
    ErrorClass,
    Extractor,
    SourcePosition,
    build_batch,
    build_fallback,
    usage_of,
)
from schemas.codec import EventCodec, codec_for
from schemas.errors import CodecError, ExtractionError
from schemas.events import ExtractionRequest
from sinks.blobstore import BlobStore
from streams.kafka.headers import ErrorInfo
from streams.kafka.loop import ConsumerLoop, PartialBatch, worker_loop
from streams.kafka.parking import error_info_for, message_headers, park, quarantine
from streams.kafka.producer import ReliableProducer
from streams.metrics import EXTRACTIONS, FALLBACK
from streams.settings import Settings
from streams.windows import window_sha256
from streams.workers.extract import max_poll_interval_ms, memory_key, publish_usage

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
WAIT_FOR_SERVICE = frozenset(
    {
        ErrorClass.TIMEOUT,
        ErrorClass.CONNECTION_REFUSED,
        ErrorClass.SERVER_ERROR,
        ErrorClass.OVERLOADED,
        ErrorClass.RATE_LIMITED,
        ErrorClass.BUDGET_EXHAUSTED,
        ErrorClass.NO_API_KEY,
        ErrorClass.AUTH_ERROR,
        ErrorClass.CIRCUIT_OPEN,
        ErrorClass.MODEL_NOT_FOUND,
    }
)
UNUSABLE_ANSWER = frozenset({ErrorClass.INVALID_JSON, ErrorClass.SCHEMA_VIOLATION, ErrorClass.LOW_CONFIDENCE})


@dataclass
class FallbackCounts:
    extracted: int = 0
    reparked: int = 0
    quarantined: int = 0
    waits: int = 0


class FallbackHandler:
    """Handles DLQ messages with the Claude extractor; raises `PartialBatch` to park on an unavailable Claude."""

    def __init__(
        self, settings: Settings, extractor: Extractor, producer: ReliableProducer, *, codec: EventCodec | None = None
    ) -> None:
        self.settings = settings
        self.extractor = extractor
        self.producer = producer
        self.codec = codec or codec_for(settings.schema_registry_url, settings.schema_registry_config())
        self.counts = FallbackCounts()

    def process(self, batch: Sequence[Message]) -> None:
        topics = self.settings.topics
        for index, message in enumerate(batch):
            try:
                request = self.codec.decode(message.value() or b"", ExtractionRequest, topics.dlq)
            except CodecError as exc:
                quarantine(self.producer, topics.quarantine, message, stage="fallback.decode", error=exc)
                self.counts.quarantined += 1
                continue
            origin = ErrorInfo.from_headers(message_headers(message))
            try:
                outcome = self.extractor.extract(request)
            except ExtractionError as error:
                publish_usage(self.producer, self.codec, self.settings.topics.usage, request, usage_of(error))
                if error.error_class in WAIT_FOR_SERVICE:
                    self.counts.waits += 1
                    FALLBACK.labels(outcome="parked").inc()
                    raise PartialBatch(
                        index, self.settings.extraction.fallback_park_cooldown_s, f"claude: {error.error_class}"
                    ) from error
                self._repark_or_quarantine(message, origin, error)
                continue
            source = SourcePosition(
                topic=origin.topic if origin else message.topic() or topics.dlq,
                partition=origin.partition if origin else message.partition() or 0,
                offset=origin.offset if origin else message.offset() or 0,
                turn_topic=request.source_topic or topics.turns,
                window_blob=window_sha256(request),
            )
            memory_batch = build_batch(request, outcome, source)
            key = memory_key(request)
            self.producer.send(topics.memories, self.codec.encode(memory_batch, topics.memories), key=key)
            publish_usage(self.producer, self.codec, self.settings.topics.usage, request, outcome.usage)
            self.counts.extracted += 1
            FALLBACK.labels(outcome="extracted").inc()
            EXTRACTIONS.labels(extractor=outcome.extractor, outcome="success").inc()

    def _repark_or_quarantine(self, message: Message, origin: ErrorInfo | None, error: ExtractionError) -> None:
        topics = self.settings.topics
        attempts = (origin.attempts if origin else 1) + 1
        if error.error_class in UNUSABLE_ANSWER and attempts <= MAX_ATTEMPTS:
            base = origin or error_info_for(message, stage="fallback", error_class="", detail="")
            info = ErrorInfo(
                stage="fallback",
                error_class=str(error.error_class),
                message=str(error),
                topic=base.topic,
                partition=base.partition,
                offset=base.offset,
                attempts=attempts,
            )
            park(self.producer, topics.dlq, message, info)
            self.counts.reparked += 1
            FALLBACK.labels(outcome="reparked").inc()
            return
        quarantine(self.producer, topics.quarantine, message, stage="fallback", error=error)
        self.counts.quarantined += 1
        FALLBACK.labels(outcome="quarantined").inc()

    def flush(self) -> None:
        """Nothing to flush: every output goes through the loop's producer."""


def build_loop(settings: Settings, extractor: Extractor | None = None) -> tuple[ConsumerLoop, FallbackHandler]:
    ex = settings.extraction
    blobs = BlobStore(settings.blob_dir)
    # the daily budget survives restarts and is shared by the fallback workers of this state directory
    budget = DailyBudget(ex.daily_token_budget, state_path=settings.data_dir / "claude-budget.json")
    chosen = extractor or build_fallback(settings, blobs=blobs, budget=budget)
    loop, handler = worker_loop(
        settings,
        component="fallback",
        group_id=ex.fallback_group_id,
        topic=settings.topics.dlq,
        batch_size=ex.fallback_batch_size,
        handler_for=lambda producer: FallbackHandler(settings, chosen, producer),
        max_poll_interval_ms=max_poll_interval_ms(
            ex.fallback_batch_size, 1, ex.request_timeout_s, attempts=ex.backoff_attempts
        ),
    )
    loop.on_close(blobs.close)
    return loop, handler


def run(settings: Settings, *, idle_exit_s: float | None = None, extractor: Extractor | None = None) -> FallbackCounts:
    """Run the fallback consumer until stopped (or idle for `idle_exit_s`)."""
    loop, handler = build_loop(settings, extractor)
    close = getattr(handler.extractor, "close", None)
    loop.serve(idle_exit_s=idle_exit_s, on_close=close if callable(close) else None)
    return handler.counts


__all__ = ["MAX_ATTEMPTS", "FallbackCounts", "FallbackHandler", "build_loop", "run"]
