"""The extractor contract: a request in, validated memories (and usage records) or a typed failure out.

Every extractor (`ollama`, `heuristic`, `claude`) implements `Extractor.extract(request)`. It returns an
`ExtractionOutcome` or raises `ExtractionFailedError`, an `ExtractionError` whose `error_class` is one of
`ErrorClass` and which carries the usage records of the calls made before it failed. `build_batch` turns an
outcome into the `MemoryBatch` event with its lineage. Error classes and whether retrying can help:

    retriable (re-drive later, or hand to the fallback):
        invalid_json  schema_violation  low_confidence  timeout  connection_refused  server_error
        circuit_open  rate_limited  overloaded  budget_exhausted
    not retriable without an operator (fix the config, pull the model, set the key):
        model_not_found  auth_error  no_api_key  bad_request
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from processors.extraction.memory_ids import batch_id
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest, Lineage, Memory, MemoryBatch, UsageRecord


class ErrorClass(StrEnum):
    """Stable names of extraction failures (the DLQ header `memlane.error.class`)."""

    INVALID_JSON = "invalid_json"
    SCHEMA_VIOLATION = "schema_violation"
    LOW_CONFIDENCE = "low_confidence"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    SERVER_ERROR = "server_error"
    MODEL_NOT_FOUND = "model_not_found"
    CIRCUIT_OPEN = "circuit_open"
    BUDGET_EXHAUSTED = "budget_exhausted"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    AUTH_ERROR = "auth_error"
    NO_API_KEY = "no_api_key"
    BAD_REQUEST = "bad_request"


NOT_RETRIABLE: frozenset[ErrorClass] = frozenset(
    {ErrorClass.MODEL_NOT_FOUND, ErrorClass.AUTH_ERROR, ErrorClass.NO_API_KEY, ErrorClass.BAD_REQUEST}
)


class ExtractionFailedError(ExtractionError):
    """An extractor failed on a request; `usage` holds a record for every LLM call it made."""

    def __init__(self, message: str, *, error_class: ErrorClass, usage: Sequence[UsageRecord] = ()) -> None:
        super().__init__(message, error_class=str(error_class), retriable=error_class not in NOT_RETRIABLE)
        self.usage: tuple[UsageRecord, ...] = tuple(usage)


def usage_of(error: ExtractionError) -> tuple[UsageRecord, ...]:
    """Usage records an extraction error carries (none for a plain `ExtractionError`)."""
    return error.usage if isinstance(error, ExtractionFailedError) else ()


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


@runtime_checkable
class Extractor(Protocol):
    """Turns one request into memories; raises `ExtractionFailedError` (an `ExtractionError`) on failure."""

    @property
    def name(self) -> str: ...

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome: ...


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where the request was read: its topic, partition and offset (lineage of the batch)."""

    topic: str
    partition: int
    offset: int
    turn_topic: str | None = None
    window_blob: str | None = None


def build_batch(request: ExtractionRequest, outcome: ExtractionOutcome, source: SourcePosition) -> MemoryBatch:
    """The `MemoryBatch` event for `outcome`; its id depends only on the request and the extractor."""
    lineage = Lineage(
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        turn_topic=source.turn_topic,
        first_turn_index=request.first_turn_index,
        last_turn_index=request.last_turn_index,
        turn_offsets=tuple(t.source_offset for t in request.turns if t.source_offset is not None),
        window_blob=source.window_blob,
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
        memories=outcome.memories,
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
    "NOT_RETRIABLE",
    "ErrorClass",
    "ExtractionFailedError",
    "ExtractionOutcome",
    "Extractor",
    "SourcePosition",
    "build_batch",
    "extract_all",
    "usage_of",
]
