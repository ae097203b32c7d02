"""Summarise worker: `extraction.requests` -> summary memories (levels 1, 2, 3) + usage; level-3 failures -> DLQ.

A `BatchingSink` over the consumer loop, in its own consumer group on the requests topic. At the checkpoint,
in order, for each request:

- `task=extract`: its window's level-1 summary (the local model, `processors.offload.summaries`), then the
  conversation's open level-2 block advances (`summary_blocks.advance`); each block the window closes gets
  its level-2 summary, written from the level-1 summaries of the windows covering it. Level-1 and level-2
  failures are counted per level, model and error class (`memlane_summary_failures_total`) and go nowhere
  else: they are not worth Claude's tokens, and the next compaction covers the range anyway.
- `task=summary`, level 3 (a compaction asked for by `memlane summary --compact` or the API): the local
  model; when it fails or is unavailable, the request's bytes go to the DLQ with `memlane.error.*` headers
  (stage `summarise`), where the fallback worker asks Claude for it.

Every call yields a usage record (its request id names the task). The open blocks are state: each changed
block is produced to the compacted topic `memlane.summary.blocks.v1` (key tenant+conversation) in the same
checkpoint as the summaries, so they are acknowledged before the offsets are committed; on every partition
assignment the worker reads that topic back whole before it takes the next batch. A redelivered request is
recognised by its turn range, and summaries have deterministic ids and seeded calls: a replay rewrites
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import structlog
from confluent_kafka import Message

from processors.extraction import usage_of
from processors.offload.summaries import (
    SummaryOutcome,
    as_summary_request,
    covered_users,
)
from processors.offload.summary_blocks import (
    BlockState,
    WindowSummary,
    advance,
    block_indexes,
    block_request,
    block_users,
)
from processors.offload.summary_settings import SummarySettings
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest
from schemas.keys import conversation_key
from sinks.base import BatchingSink, SinkRecord
from streams.kafka.context import StreamContext
from streams.kafka.headers import redrive_count
from streams.kafka.parking import Overflow, dead_letter
from streams.kafka.producer import ReliableProducer
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import (
    SUMMARIES,
    SUMMARY_BLOCKS_LATE,
    SUMMARY_FAILURES,
    SUMMARY_LATENCY,
    SUMMARY_TOKENS,
)
from streams.workers.memory_delivery import deliver_summary, failed_model, publish_usage
from streams.workers.worker_sink import WorkerCounts, WorkerSink

log = structlog.get_logger(__name__)

COMPONENT = "summarise"
SPEC = WorkerSpec(COMPONENT, COMPONENT, ExtractionRequest, lambda topics: topics.requests)

StateReader = Callable[[], Iterator[Message]]
"""Every message of the blocks topic, start to end (`streams.kafka.consumer.read_topic`)."""


@dataclass
class SummariseCounts(WorkerCounts):
    summaries: dict[int, int] = field(default_factory=dict)
    """Summaries written per level."""
    failures: dict[str, int] = field(default_factory=dict)
    """Summary calls without a summary per `level:model:error_class`."""
    dead_lettered: int = 0
    late_windows: int = 0
    restores: int = 0


def observe(level: int, outcome: SummaryOutcome | ExtractionError, model: str) -> None:
    """Prometheus view of one summary call (its usage records)."""
    usage = outcome.usage if isinstance(outcome, SummaryOutcome) else usage_of(outcome)
    for record in usage:
        SUMMARY_TOKENS.labels(level=str(level), direction="in").inc(record.tokens_in)
        SUMMARY_TOKENS.labels(level=str(level), direction="out").inc(record.tokens_out)
        SUMMARY_LATENCY.labels(level=str(level)).observe(record.latency_ms / 1000.0)
    if isinstance(outcome, SummaryOutcome):
        SUMMARIES.labels(level=str(level), model=model).inc()
    else:
        SUMMARY_FAILURES.labels(level=str(level), model=model, error_class=outcome.error_class).inc()


class SummariseSink(BatchingSink[ExtractionRequest], WorkerSink[ExtractionRequest, SummariseCounts]):
    """Summarises a batch of requests at the checkpoint; keeps each conversation's open level-2 block."""

    def __init__(
        self,
        ctx: StreamContext,
        summarise: Callable[[ExtractionRequest], SummaryOutcome],
        producer: ReliableProducer,
        *,
        settings: SummarySettings,
        read_states: StateReader,
        model: str,
        overflow: Overflow | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.summarise = summarise
        self.producer = producer
        self.settings = settings
        self.read_states = read_states
        self.model = model
        self.overflow = overflow
        self.counts = SummariseCounts()
        self.states: dict[str, BlockState] = {}
        self._stale = True
        self._close = close

    def on_assign(self, partitions: list[int]) -> None:
        self._stale = True  # another member may have advanced blocks meanwhile: read them back first

    def restore(self) -> None:
        """Every open block as the blocks topic holds it (the latest record per key; empty values delete)."""
        states: dict[str, BlockState] = {}
        for message in self.read_states():
            key = (message.key() or b"").decode("utf-8")
            value = message.value()
            if value:
                states[key] = BlockState.from_json(value)
            else:
                states.pop(key, None)
        self.states = states
        self.counts.restores += 1
        self._stale = False
        log.info("summarise.restored", blocks=len(states))

    def write(self, batch: Sequence[SinkRecord[ExtractionRequest]]) -> None:
        if self._stale:
            self.restore()
        changed: dict[str, BlockState] = {}
        for record in batch:
            request = record.value
            if request.task == "summary":
                if request.summary_level == 3:
                    self._compact(record)
                continue
            self._window(record, changed)
        topic = self.ctx.topics.summary_blocks
        for key, state in changed.items():
            self.producer.send(topic, state.to_json(), key=key.encode("utf-8"))

    def discard(self) -> None:
        super().discard()
        self._stale = True  # the blocks advanced by the abandoned batch are read back from the topic

    def _call(self, request: ExtractionRequest) -> SummaryOutcome | ExtractionError:
        level = request.summary_level or 1
        try:
            outcome: SummaryOutcome | ExtractionError = self.summarise(request)
        except ExtractionError as error:
            outcome = error
        model = outcome.model if isinstance(outcome, SummaryOutcome) else failed_model(usage_of(outcome), self.model)
        observe(level, outcome, model)
        usage = outcome.usage if isinstance(outcome, SummaryOutcome) else usage_of(outcome)
        publish_usage(self.producer, self.ctx, request, usage)
        if isinstance(outcome, ExtractionError):
            key = f"{level}:{model}:{outcome.error_class}"
            self.counts.failures[key] = self.counts.failures.get(key, 0) + 1
            log.warning(
                "summary.failed",
                request_id=request.request_id,
                level=level,
                error_class=outcome.error_class,
                error=str(outcome)[:300],
            )
        return outcome

    def _deliver(
        self,
        record: SinkRecord[ExtractionRequest],
        request: ExtractionRequest,
        outcome: SummaryOutcome,
        *,
        users: Sequence[str] | None = None,
        indexes: Sequence[int] | None = None,
    ) -> None:
        """The summary memory (its usage records went out with the call)."""
        deliver_summary(self.producer, self.ctx, record, request, outcome.usage_free(), users=users, indexes=indexes)
        level = request.summary_level or 1
        self.counts.summaries[level] = self.counts.summaries.get(level, 0) + 1

    def _window(self, record: SinkRecord[ExtractionRequest], changed: dict[str, BlockState]) -> None:
        request = record.value
        level1 = as_summary_request(request, 1)
        outcome = self._call(level1)
        window: WindowSummary | None = None
        if isinstance(outcome, SummaryOutcome):
            self._deliver(record, level1, outcome)
            window = WindowSummary(
                first=request.first_turn_index,
                last=request.last_turn_index,
                text=outcome.text,
                users=covered_users(request),
                indexes=tuple(turn.turn_index for turn in request.turns),
                event_time_ms=int(max(t.event_time for t in request.turns).timestamp() * 1000)
                if request.turns
                else int(request.created_at.timestamp() * 1000),
            )
        key = conversation_key(request.tenant_id, request.conversation_id)
        state = self.states.get(key) or BlockState(request.tenant_id, request.conversation_id, request.user_id)
        size = self.settings.block_turns
        if request.last_turn_index < state.next_block * size:
            self.counts.late_windows += 1
            SUMMARY_BLOCKS_LATE.inc()
        for closed in advance(state, request.first_turn_index, request.last_turn_index, window, size):
            level2 = block_request(state, closed, request)
            block_outcome = self._call(level2)
            if isinstance(block_outcome, SummaryOutcome):
                self._deliver(record, level2, block_outcome, users=block_users(closed), indexes=block_indexes(closed))
        self.states[key] = state
        changed[key] = state

    def _compact(self, record: SinkRecord[ExtractionRequest]) -> None:
        request = record.value
        outcome = self._call(request)
        if isinstance(outcome, SummaryOutcome):
            self._deliver(record, request, outcome)
            return
        model = failed_model(usage_of(outcome), self.model)
        dead_letter(
            self.producer,
            self.ctx.topics.dlq,
            record,
            stage=COMPONENT,
            error_class=outcome.error_class,
            detail=str(outcome),
            attempts=1 + redrive_count(record.headers),
            model=model,
            overflow=self.overflow,
        )
        self.counts.dead_lettered += 1

    def close(self) -> None:
        if self._close is not None:
            self._close()


__all__ = ["COMPONENT", "SPEC", "StateReader", "SummariseCounts", "SummariseSink", "observe"]
