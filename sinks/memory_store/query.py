"""Backend-neutral pieces of queries and writes: filter conditions, scored sources, points, BM25.

The store logic (`store.py`) speaks only these types; each backend translates them to its engine's
own (`qdrant_edge` or `qdrant_client.models`). `tenant_conditions` always starts with the tenant
match, so no query a store builds can cross tenants.

BM25 sparse vectors come from qdrant-edge's `Bm25` (English stemming and stop words, k=1.2, b=0.75),
computed in-process for both backends. Documents carry term-frequency weights; the collection's
sparse vector has the IDF modifier, and queries compute IDF over the caller's tenant only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .models import SearchFilters
from .payload import iso

TEXT_VECTOR = "text"
TAGS_VECTOR = "tags"
SPARSE_VECTOR = "bm25"


@dataclass(frozen=True, slots=True)
class Match:
    """`key` equals `value` (keyword match; on an array field, any element equals it)."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class MatchAny:
    """`key` equals one of `values`."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DateRange:
    """`key` (a datetime field) lies within `[gte, lte]`; either bound may be open."""

    key: str
    gte: str | None = None
    lte: str | None = None


Condition = Match | MatchAny | DateRange


def tenant_conditions(tenant_id: str, filters: SearchFilters | None = None) -> list[Condition]:
    """The conditions of a search in `tenant_id` narrowed by `filters`; the tenant match comes first."""
    if not tenant_id:
        raise ValueError("tenant_id is required: every memory query is scoped to one tenant")
    conditions: list[Condition] = [Match("tenant_id", tenant_id)]
    if filters is None:
        return conditions
    for key in ("user_id", "agent_id", "conversation_id"):
        value = getattr(filters, key)
        if value is not None:
            conditions.append(Match(key, value))
    if filters.kinds:
        conditions.append(MatchAny("kind", tuple(str(kind) for kind in filters.kinds)))
    if filters.tags:
        conditions.append(MatchAny("tags", tuple(filters.tags)))
    if filters.since is not None or filters.until is not None:
        conditions.append(
            DateRange(
                "event_time",
                iso(filters.since) if filters.since else None,
                iso(filters.until) if filters.until else None,
            )
        )
    return conditions


class Sparse(NamedTuple):
    """A sparse vector: token ids and their weights."""

    indices: list[int]
    values: list[float]


@dataclass(frozen=True, slots=True)
class Source:
    """One ranked list to compute: nearest points to `dense` or `sparse` in the named vector `using`."""

    using: str
    dense: list[float] | None = None
    sparse: Sparse | None = None
    score_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class PointData:
    """A point to write: the text vector, the optional tags vector, the BM25 vector and the payload."""

    id: str
    text: list[float]
    tags: list[float] | None
    bm25: Sparse
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Found:
    """A point a backend returned: id, score (0 for scroll / retrieve results) and payload."""

    id: str
    score: float
    payload: dict[str, Any]


class Bm25Encoder:
    """BM25 sparse vectors of documents and queries (qdrant-edge's tokenizer, stemmer and weights)."""

    def __init__(self) -> None:
        try:
            from qdrant_edge import Bm25, Bm25Config
        except ImportError as exc:
            raise ImportError("BM25 vectors need qdrant-edge-py: pip install 'memlane[sinks]'") from exc
        self._model = Bm25(Bm25Config(language="english", avg_len=24.0))

    def document(self, text: str) -> Sparse:
        vector = self._model.embed_document(text)
        return Sparse(list(vector.indices), [float(v) for v in vector.values])

    def query(self, text: str) -> Sparse:
        vector = self._model.embed_query(text)
        return Sparse(list(vector.indices), [float(v) for v in vector.values])


__all__ = [
    "SPARSE_VECTOR",
    "TAGS_VECTOR",
    "TEXT_VECTOR",
    "Bm25Encoder",
    "Condition",
    "DateRange",
    "Found",
    "Match",
    "MatchAny",
    "PointData",
    "Sparse",
    "Source",
    "tenant_conditions",
]
