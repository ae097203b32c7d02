"""What the memory store takes and returns: search filters and modes, hits, records, upsert reports.

A stored memory is one Qdrant point. Its payload holds the memory's latest version plus `history`,
the earlier versions it replaced through near-duplicate updates (newest first), and `merged_ids`,
the memory ids merged into it. `MemoryRecord.from_payload` reads a point back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from schemas.events import Lineage, MemoryKind


class SearchMode(StrEnum):
    """How `MemoryStore.search` ranks: dense only, dense + BM25 (the default), or dense + tag vector.

    The two fused modes combine their rankings as `SinkSettings.fusion` says (z-score fusion by default)."""

    DENSE = "dense"
    HYBRID = "hybrid"
    MULTIVECTOR = "multivector"


DEFAULT_MODE = SearchMode.HYBRID
"""What a search that names no mode does (the store, the API and the CLI)."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Optional narrowing of a search; the tenant is always a separate, mandatory argument."""

    user_id: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None
    kinds: tuple[MemoryKind, ...] = ()
    tags: tuple[str, ...] = ()
    """Match memories carrying any of these tags."""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class MemoryVersion:
    """An earlier version of a memory, kept when a near-duplicate replaced its text."""

    version: int
    memory_id: str
    text: str
    kind: str
    event_time: str
    extractor: str
    extractor_version: str
    batch_id: str
    replaced_at: str
    lineage: Lineage | None = None


def _lineage(raw: Any) -> Lineage | None:
    return Lineage.model_validate(raw) if isinstance(raw, dict) else None


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One stored memory as read back: the latest version, its lineage and its version history."""

    memory_id: str
    tenant_id: str
    user_id: str
    """Whose memory it is (the first of `user_ids`)."""
    user_ids: tuple[str, ...]
    """Every user it belongs to: more than one for a memory drawn from several people's turns."""
    agent_id: str | None
    conversation_id: str
    kind: MemoryKind
    text: str
    priority: float
    confidence: float
    tags: tuple[str, ...]
    event_time: datetime
    version: int
    extractor: str
    extractor_version: str
    batch_id: str
    lineage: Lineage | None
    merged_ids: tuple[str, ...]
    source_turn_indexes: tuple[int, ...]
    """The turns (indexes in their conversation) this memory and every version merged into it came from."""
    history: tuple[MemoryVersion, ...]
    summary_level: int | None = None
    """For a `summary` memory: 1 a window, 2 a block of turns, 3 a conversation's compaction."""
    model: str | None = None
    """The model that wrote the latest version, when known."""
    labels: tuple[str, ...] = ()
    """The local model's labels (in `tags` too, with the heuristic ones: `label_tags.py`); empty until labelled."""
    labels_model: str | None = None
    """The model that gave `labels`."""

    @classmethod
    def from_payload(cls, point_id: str, payload: dict[str, Any]) -> MemoryRecord:
        raw_users = payload["user_id"]
        users = [raw_users] if isinstance(raw_users, str) else [str(user) for user in raw_users]
        history = tuple(
            MemoryVersion(**{**entry, "lineage": _lineage(entry.get("lineage"))})
            for entry in payload.get("history", ())
        )
        return cls(
            memory_id=str(payload.get("memory_id", point_id)),
            tenant_id=payload["tenant_id"],
            user_id=users[0],
            user_ids=tuple(users),
            agent_id=payload.get("agent_id"),
            conversation_id=payload["conversation_id"],
            kind=MemoryKind(payload["kind"]),
            text=payload["text"],
            priority=float(payload.get("priority", 0.5)),
            confidence=float(payload.get("confidence", 1.0)),
            tags=tuple(payload.get("tags", ())),
            event_time=datetime.fromisoformat(payload["event_time"]),
            version=int(payload.get("version", 1)),
            extractor=payload.get("extractor", ""),
            extractor_version=payload.get("extractor_version", ""),
            batch_id=payload.get("batch_id", ""),
            lineage=_lineage(payload.get("lineage")),
            merged_ids=tuple(payload.get("merged_ids", ())),
            source_turn_indexes=tuple(int(index) for index in payload.get("source_turn_indexes", ())),
            history=history,
            summary_level=int(payload["summary_level"]) if payload.get("summary_level") is not None else None,
            model=payload.get("model"),
            labels=tuple(payload.get("labels", ())),
            labels_model=payload.get("labels_model"),
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A memory and its score: cosine similarity for dense search, the fused score otherwise."""

    score: float
    record: MemoryRecord

    @property
    def memory_id(self) -> str:
        return self.record.memory_id

    @property
    def text(self) -> str:
        return self.record.text


@dataclass(slots=True)
class UpsertReport:
    """What one `upsert(batch)` did, memory by memory."""

    batch_id: str
    inserted: list[str] = field(default_factory=list)
    """Memory ids written as new points."""
    updated: dict[str, str] = field(default_factory=dict)
    """New memory id -> id of the existing memory it updated (near-duplicate)."""
    unchanged: list[str] = field(default_factory=list)
    """Memory ids already stored (a replay): nothing was written for them."""
    labelled: list[str] = field(default_factory=list)
    """Memory ids of a label batch whose labels were applied (a payload update, no new version)."""
    labels_skipped: list[str] = field(default_factory=list)
    """Memory ids of a label batch not applied: not stored, its text changed since, or the same labels already."""
    points_written: int = 0
    embed_s: float = 0.0
    write_s: float = 0.0

    @property
    def total(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.unchanged)


__all__ = [
    "DEFAULT_MODE",
    "MemoryRecord",
    "MemoryVersion",
    "SearchFilters",
    "SearchHit",
    "SearchMode",
    "UpsertReport",
]
