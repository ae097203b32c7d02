"""The search API's request and response bodies (they are what `/openapi.json` documents).

Requests are strict (`extra="forbid"`, bounded sizes) so a typo in a field name is a 422, not a
silently ignored filter. Responses are built from the memory store's `MemoryRecord` / `SearchHit`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.events import Lineage, MemoryKind
from sinks.memory_store import DEFAULT_MODE, MemoryRecord, MemoryVersion, SearchFilters, SearchHit, SearchMode

_ID = Field(default=None, min_length=1, max_length=256)


class SearchRequest(BaseModel):
    """`POST /v1/search`: a query, optional filters, how many hits and how to rank them."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000, description="free text, e.g. 'where does Ana live?'")
    user_id: str | None = _ID
    agent_id: str | None = _ID
    conversation_id: str | None = _ID
    kinds: list[MemoryKind] = Field(default_factory=list, max_length=5, description="any of these kinds")
    tags: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="memories with any of these tags (the model's labels once a memory is labelled)",
    )
    since: datetime | None = Field(default=None, description="memories whose event time is at or after this")
    until: datetime | None = Field(default=None, description="memories whose event time is at or before this")
    limit: int = Field(default=10, ge=1, le=100)
    min_score: float | None = Field(default=None, ge=-1.0, le=1.0, description="minimum cosine similarity")
    mode: SearchMode = Field(
        default=DEFAULT_MODE,
        description="hybrid (dense + BM25 over text and context, score-fused; the default), dense or multivector",
    )
    now: datetime | None = Field(
        default=None, description="the time relative dates in the query ('two weeks ago') are read against"
    )

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must contain some non-whitespace text")
        return value

    @model_validator(mode="after")
    def _ordered_times(self) -> SearchRequest:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self

    def filters(self) -> SearchFilters:
        return SearchFilters(
            user_id=self.user_id,
            agent_id=self.agent_id,
            conversation_id=self.conversation_id,
            kinds=tuple(self.kinds),
            tags=tuple(self.tags),
            since=self.since,
            until=self.until,
        )


def blob_url(sha256: str | None) -> str | None:
    """Where the search API serves a blob (None for None)."""
    return f"/v1/blobs/{sha256}" if sha256 else None


class MemoryOut(BaseModel):
    """A stored memory as the API shows it (latest version)."""

    memory_id: str
    user_id: str = Field(description="whose memory it is")
    user_ids: list[str] = Field(description="everyone it belongs to (more than one: drawn from several people)")
    agent_id: str | None
    conversation_id: str
    kind: MemoryKind
    text: str
    tags: list[str] = Field(description="the model's labels once it labelled the memory, heuristic tags before")
    labels: list[str] = Field(default_factory=list, description="the local model's labels (empty: not labelled)")
    labels_model: str | None = Field(default=None, description="the model that gave the labels")
    priority: float
    confidence: float
    event_time: datetime
    version: int
    window_url: str | None = Field(description="the raw extraction window behind this memory, if known")

    @classmethod
    def of(cls, record: MemoryRecord) -> MemoryOut:
        return cls(**_summary(record))


def _summary(record: MemoryRecord) -> dict[str, Any]:
    return {
        "memory_id": record.memory_id,
        "user_id": record.user_id,
        "user_ids": list(record.user_ids),
        "agent_id": record.agent_id,
        "conversation_id": record.conversation_id,
        "kind": record.kind,
        "text": record.text,
        "tags": list(record.tags),
        "labels": list(record.labels),
        "labels_model": record.labels_model,
        "priority": record.priority,
        "confidence": record.confidence,
        "event_time": record.event_time,
        "version": record.version,
        "window_url": blob_url(record.lineage.window_blob if record.lineage else None),
    }


class HitOut(BaseModel):
    score: float = Field(description="cosine similarity (dense) or the fused score (hybrid, multivector)")
    memory: MemoryOut


class SearchResponse(BaseModel):
    mode: SearchMode
    count: int
    took_ms: float
    hits: list[HitOut]

    @classmethod
    def of(cls, mode: SearchMode, hits: list[SearchHit], took_ms: float) -> SearchResponse:
        out = [HitOut(score=hit.score, memory=MemoryOut.of(hit.record)) for hit in hits]
        return cls(mode=mode, count=len(out), took_ms=round(took_ms, 3), hits=out)


class VersionOut(BaseModel):
    """An earlier version of a memory, replaced by a near-duplicate update."""

    version: int
    memory_id: str
    text: str
    kind: str
    event_time: str
    extractor: str
    extractor_version: str
    batch_id: str
    replaced_at: str
    lineage: Lineage | None

    @classmethod
    def of(cls, version: MemoryVersion) -> VersionOut:
        return cls(**{name: getattr(version, name) for name in cls.model_fields})


class MemoryDetail(MemoryOut):
    """`GET /v1/memories/{id}`: the memory with its lineage, merged ids and version history."""

    extractor: str
    extractor_version: str
    batch_id: str
    lineage: Lineage | None
    merged_ids: list[str]
    history: list[VersionOut]

    @classmethod
    def of(cls, record: MemoryRecord) -> MemoryDetail:
        return cls(
            **_summary(record),
            extractor=record.extractor,
            extractor_version=record.extractor_version,
            batch_id=record.batch_id,
            lineage=record.lineage,
            merged_ids=list(record.merged_ids),
            history=[VersionOut.of(version) for version in record.history],
        )


class BlobSliceOut(BaseModel):
    """`GET /v1/blobs/{sha}?format=json`: a slice with its position; `data` is UTF-8 text or base64."""

    sha256: str
    media_type: str
    unit: Literal["lines", "bytes"]
    start: int
    end: int
    total_lines: int
    total_bytes: int
    truncated: bool
    encoding: Literal["utf-8", "base64"]
    data: str


class ErrorOut(BaseModel):
    """Every 4xx / 5xx body: a short error code, a human message, and field errors for 422s."""

    error: str
    message: str
    errors: list[dict[str, Any]] | None = None


__all__ = [
    "BlobSliceOut",
    "ErrorOut",
    "HitOut",
    "MemoryDetail",
    "MemoryOut",
    "SearchRequest",
    "SearchResponse",
    "VersionOut",
    "blob_url",
]
