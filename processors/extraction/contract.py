"""The extractor contract: a request in, validated memories (and usage records) or a typed failure out.

Every extractor (`ollama`, `heuristic`, `claude`) implements `Extractor`: `extract(request)` returns an
`ExtractionOutcome` or raises `ExtractionError` (from `extraction_failure()`), whose `error_class` is one of
`ErrorClass` and which carries the usage records of the calls made before it failed; `health()` gives the
probe a worker checks between batches; `close()` releases clients. What each error class means for retries,
the circuit breaker and the fallback is the table in `processors.extraction.policy`. `build_batch` turns an
outcome into the `MemoryBatch` event with its lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from processors.extraction.context_window import with_context
from processors.extraction.memory_ids import batch_id
from processors.extraction.policy import POLICY, ErrorClass
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest, Lineage, Memory, MemoryBatch, UsageRecord


def extraction_failure(message: str, *, error_class: ErrorClass, usage: Sequence[UsageRecord] = ()) -> ExtractionError:
    """The `ExtractionError` of `error_class` (retriable as the policy table says)."""
    return ExtractionError(message, error_class=str(error_class), retriable=POLICY[error_class].retriable, usage=usage)


def usage_of(error: ExtractionError) -> tuple[UsageRecord, ...]:
    """Usage records an extraction error carries."""
    return tuple(record for record in error.usage if isinstance(record, UsageRecord))


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """One health check: whether the backend answered, the models it has, and those it lacks."""

    reachable: bool
    models: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    error: str | None = None
    checked_at: float = 0.0

    @property
    def ok(self) -> bool:
        """The backend answered and has every model asked for."""
        return self.reachable and not self.missing


class HealthProbe(Protocol):
    """Asks a backend whether it can serve extraction."""

    def check(self) -> HealthStatus: ...

    def check_if_due(self) -> HealthStatus: ...


class StaticHealth:
    """The probe of a backend that needs no server (the heuristic extractor): always the same status."""

    def __init__(self, status: HealthStatus | None = None) -> None:
        self.status = status or HealthStatus(True)

    def check(self) -> HealthStatus:
        return self.status

    def check_if_due(self) -> HealthStatus:
        return self.status


@dataclass(frozen=True, slots=True)
class ExtractionOutcome:
    """What an extractor produced for one request."""

    extractor: str
    extractor_version: str
    model: str | None
    prompt_version: str | None
    memories: tuple[Memory, ...]
    usage: tuple[UsageRecord, ...] = ()
    warnings: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()
    """The safe repairs its answer needed (`processors.extraction.repair`), one entry per repair."""
    prompt_mismatch: bool = False
    """The server counted prompt tokens far off the estimate (`ExtractionSettings.prompt_mismatch_ratio`)."""


@runtime_checkable
class Extractor(Protocol):
    """Turns one request into memories; raises `ExtractionError` on failure."""

    @property
    def name(self) -> str: ...

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome: ...

    def health(self) -> HealthProbe:
        """A probe of the backend this extractor calls (one per worker; it caches its last answer)."""
        ...

    def close(self) -> None:
        """Release clients and connections."""
        ...

    def redriven(self) -> None:
        """Requests an operator re-drove from the DLQ arrive: try the backend now (a circuit breaker half-opens)."""
        ...


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where the request was read: its topic, partition and offset (lineage of the batch)."""

    topic: str
    partition: int
    offset: int
    turn_topic: str | None = None
    window_blob: str | None = None


def build_batch(request: ExtractionRequest, outcome: ExtractionOutcome, source: SourcePosition) -> MemoryBatch:
    """The `MemoryBatch` event for `outcome`; its id depends only on the request and the extractor.

    Each memory gets its keyword-search context from the request's window (`context_window.with_context`).
    """
    timed = [t for t in request.turns if t.published_at is not None]
    lineage = Lineage(
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        turn_topic=source.turn_topic,
        first_turn_index=request.first_turn_index,
        last_turn_index=request.last_turn_index,
        turn_offsets=tuple(t.source_offset for t in request.turns if t.source_offset is not None),
        window_blob=source.window_blob,
        turn_indexes=tuple(t.turn_index for t in timed),
        turn_published_at=tuple(t.published_at for t in timed if t.published_at is not None),
        turn_priority_classes=tuple(t.priority_class for t in timed),
    )
    return MemoryBatch(
        batch_id=batch_id(request.request_id, outcome.extractor),
        request_id=request.request_id,
        conversation_id=request.conversation_id,
        tenant_id=request.tenant_id,
        user_id=request.user_id,
        agent_id=request.agent_id,
        extractor=outcome.extractor,
        extractor_version=outcome.extractor_version,
        model=outcome.model,
        prompt_version=outcome.prompt_version,
        memories=with_context(request, outcome.memories),
        lineage=lineage,
    )


def extract_all(
    extractor: Extractor, requests: Sequence[ExtractionRequest], *, parallelism: int
) -> list[ExtractionOutcome | ExtractionError]:
    """Extract `requests` with at most `parallelism` calls at once; results in request order.

    Failures are returned, not raised, so one bad window never hides the others' results.
    """

    def one(request: ExtractionRequest) -> ExtractionOutcome | ExtractionError:
        try:
            return extractor.extract(request)
        except ExtractionError as exc:
            return exc

    if parallelism <= 1 or len(requests) <= 1:
        return [one(r) for r in requests]
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="memlane-extract") as pool:
        return list(pool.map(one, requests))


__all__ = [
    "ErrorClass",
    "ExtractionError",
    "ExtractionOutcome",
    "Extractor",
    "HealthProbe",
    "HealthStatus",
    "SourcePosition",
    "StaticHealth",
    "build_batch",
    "extract_all",
    "extraction_failure",
    "usage_of",
]
