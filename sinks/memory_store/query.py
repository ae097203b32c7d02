"""Backend-neutral pieces of queries and writes: filter conditions, scored sources, points, BM25.

The store logic (`store.py`) speaks only these types; each backend translates them to its engine's
own (`qdrant_edge` or `qdrant_client.models`). `tenant_conditions` always starts with the tenant
match, so no query a store builds can cross tenants.

Keyword ranking (the BM25 half of hybrid search) uses the engine's own full-text index on the payload
field `lexical` (the memory's text and the context window before it, see `payload.py`) with BM25
scoring (English stop words and stemming), queried with IDF statistics computed over the caller's
tenant only. It costs a fraction of a sparse vector per point on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .memory_records import SearchFilters
from .payload import iso

TEXT_VECTOR = "text"
TAGS_VECTOR = "tags"
TEXT_FIELD = "lexical"


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


@dataclass(frozen=True, slots=True)
class Source:
    """One ranked list: nearest points to `dense` in the named vector `using`, or, when `text` is set,
    BM25 over the full-text index of the payload field `using` (IDF computed within the tenant)."""

    using: str
    dense: list[float] | None = None
    text: str | None = None
    score_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class PointData:
    """A point to write: its text vector, optional tags vector and payload."""

    id: str
    text: list[float]
    tags: list[float] | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Found:
    """A point a backend returned: id, score (0 for scroll / retrieve results) and payload."""

    id: str
    score: float
    payload: dict[str, Any]


__all__ = [
    "TAGS_VECTOR",
    "TEXT_FIELD",
    "TEXT_VECTOR",
    "Condition",
    "DateRange",
    "Found",
    "Match",
    "MatchAny",
    "PointData",
    "Source",
    "tenant_conditions",
]
