"""Fallback consumer: drains the dead-letter topic to Claude; what it cannot handle now stays parked.

A `Sink` over the consumer loop. For each parked request, in order per partition, what happens follows
the policy table (`processors.extraction.policy`, column `fallback`):

- Claude answers: its MemoryBatch (`extractor=claude`) and usage records are produced (`memory_delivery`),
  and the DLQ offset is committed with the loop's checkpoint.
- `wait` (Claude unavailable: no key, budget spent, down, overloaded, rate limited beyond the backoff, auth
  failure): `add` raises `SinkBackpressureError`; the loop commits the requests handled before it and waits
  `fallback_park_cooldown_s` before trying the same request again. Parked requests stay in the DLQ, counted
  by `memlane dlq status`, and `memlane dlq redrive` can send them back to extraction.
- `repark` (Claude answered but the answer was unusable): the request is parked again at the DLQ's tail
  with one more attempt, up to `MAX_ATTEMPTS`; after that it goes to quarantine.
- `quarantine` (Claude rejects the request as bad): to quarantine. Either way it stays accounted for.

A parked `task=summary` request (a level-3 compaction the local model could not write) is summarised by
Claude instead (`processors.offload.claude_summary`, same budget and usage records), and its summary memory
has the id the local one would have had; the same actions apply to its failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from processors.extraction import DailyBudget, Extractor, usage_of
from processors.extraction.contract import ErrorClass, extraction_failure
from processors.extraction.policy import FallbackAction, policy_of
from processors.offload.summaries import SummaryOutcome
from schemas.errors import ExtractionError, SinkBackpressureError
from schemas.events import ExtractionRequest
from sinks.base import SinkRecord
from streams.kafka.context import StreamContext
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import Overflow, error_info_for, park, quarantine
from streams.kafka.producer import ReliableProducer
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import (
    CLAUDE_BUDGET_LIMIT,
    CLAUDE_BUDGET_REMAINING,
    DLQ_PARKED,
    FALLBACK,
    SUMMARIES,
    SUMMARY_TOKENS,
)
from streams.workers.memory_delivery import deliver_memories, deliver_summary, failed_model, publish_usage
from streams.workers.worker_sink import WorkerCounts, WorkerSink

log = structlog.get_logger(__name__)

COMPONENT = "fallback"
SPEC = WorkerSpec(COMPONENT, COMPONENT, ExtractionRequest, lambda topics: topics.dlq)
MAX_ATTEMPTS = 5


@dataclass
class FallbackCounts(WorkerCounts):
    extracted: int = 0
    reparked: int = 0
    waits: int = 0
    summaries: int = 0


class FallbackSink(WorkerSink[ExtractionRequest, FallbackCounts]):
    """Extracts each DLQ request with Claude; pushes back (`SinkBackpressureError`) while Claude is unavailable."""

    def __init__(
        self,
        ctx: StreamContext,
        extractor: Extractor,
        producer: ReliableProducer,
        *,
        park_cooldown_s: float,
        overflow: Overflow | None = None,
        summarise: Callable[[ExtractionRequest], SummaryOutcome] | None = None,
    ) -> None:
        self.ctx = ctx
        self.summarise = summarise
        self.overflow = overflow
        self.extractor = extractor
        self.producer = producer
        self.park_cooldown_s = park_cooldown_s
        self.counts = FallbackCounts()
        self._export_budget()

    def _export_budget(self) -> None:
        """The daily Claude budget on /metrics (limit and what is left), when the extractor keeps one."""
        budget = getattr(self.extractor, "budget", None)
        if isinstance(budget, DailyBudget) and budget.limit is not None:
            CLAUDE_BUDGET_LIMIT.set(budget.limit)
            CLAUDE_BUDGET_REMAINING.set(budget.remaining() or 0)

    def add(self, record: SinkRecord[ExtractionRequest]) -> None:
        try:
            self._add(record)
        finally:
            self._export_budget()

    def _add(self, record: SinkRecord[ExtractionRequest]) -> None:
        request = record.value
        try:
            if request.task == "summary":
                self._summarise(record)
                return
            outcome = self.extractor.extract(request)
        except ExtractionError as error:
            usage = usage_of(error)
            publish_usage(self.producer, self.ctx, request, usage)
            action = policy_of(error.error_class).fallback
            if action is FallbackAction.WAIT:
                self.counts.waits += 1
                FALLBACK.labels(outcome="parked").inc()
                raise SinkBackpressureError(f"claude: {error.error_class}", retry_after=self.park_cooldown_s) from error
            self._repark_or_quarantine(record, error, action, failed_model(usage, self.extractor.name))
            return
        deliver_memories(self.producer, self.ctx, record, outcome)
        self.counts.extracted += 1
        FALLBACK.labels(outcome="extracted").inc()

    def _summarise(self, record: SinkRecord[ExtractionRequest]) -> None:
        """A parked summary request, by Claude; `ExtractionError` as extraction's (the caller decides)."""
        request = record.value
        if self.summarise is None:
            raise extraction_failure("this fallback writes no summaries", error_class=ErrorClass.BAD_REQUEST)
        summary = self.summarise(request)
        deliver_summary(self.producer, self.ctx, record, request, summary)
        level = str(request.summary_level or 3)
        SUMMARIES.labels(level=level, model=summary.model).inc()
        for usage in summary.usage:
            SUMMARY_TOKENS.labels(level=level, direction="in").inc(usage.tokens_in)
            SUMMARY_TOKENS.labels(level=level, direction="out").inc(usage.tokens_out)
        self.counts.summaries += 1
        FALLBACK.labels(outcome="summarised").inc()

    def _repark_or_quarantine(
        self, record: SinkRecord[ExtractionRequest], error: ExtractionError, action: FallbackAction, model: str
    ) -> None:
        topics = self.ctx.topics
        origin = ErrorInfo.from_headers(record.headers)
        attempts = (origin.attempts if origin else 1) + 1
        if action is FallbackAction.REPARK and attempts <= MAX_ATTEMPTS:
            base = origin or error_info_for(record, stage=COMPONENT, error_class="", detail="")
            info = ErrorInfo(
                stage=COMPONENT,
                error_class=str(error.error_class),
                message=str(error),
                topic=base.topic,
                partition=base.partition,
                offset=base.offset,
                attempts=attempts,
                model=model,
            )
            park(self.producer, topics.dlq, record, info, overflow=self.overflow)
            DLQ_PARKED.labels(model=model, error_class=str(error.error_class)).inc()
            self.counts.reparked += 1
            FALLBACK.labels(outcome="reparked").inc()
            return
        quarantine(self.producer, topics.quarantine, record, stage=COMPONENT, error=error, overflow=self.overflow)
        self.counts.quarantined += 1
        FALLBACK.labels(outcome="quarantined").inc()

    def close(self) -> None:
        self.extractor.close()


__all__ = ["COMPONENT", "MAX_ATTEMPTS", "SPEC", "FallbackCounts", "FallbackSink"]
