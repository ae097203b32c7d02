"""`MemoryStore`: the memory logic shared by both Qdrant backends (embedded edge shard, Qdrant server).

    upsert(batch)    embed, then per memory: replay -> no-op; near-duplicate of the same user's memory
                     (similarity >= `dedupe_update_threshold`) -> update that memory, keeping its
                     history; otherwise a new point whose id is the memory id. Safe to replay.
                     A label batch (`schemas.labels`) sets the labels of the memories it names instead:
                     payload `labels`, `labels_model`, `tags` (heuristic tags and labels, `label_tags.py`)
                     and the tag vector, no new version; a memory whose text changed since it was
                     labelled keeps its tags. Safe to replay.
    search(...)      hybrid (dense + BM25 over text and context, the default), dense, or multivector
                     (dense + tags), always in one tenant; fused modes fuse scores (`fusion.py`) and
                     boost by session and by the time a query names (`temporal.py`)
    get(...)         one memory with lineage and version history, by any memory id merged into it
    nearest(...)     the user's memories nearest a vector (what the processors' dedupe consults)

Backends implement the small set of `_`-prefixed primitives over `query.py`'s neutral types. Writes
are serialised by a lock (an upsert reads before it writes); reads may run concurrently.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import numpy as np

from schemas.errors import SearchError, SinkError
from schemas.events import Memory, MemoryBatch, MemoryKind, utc_now
from schemas.labels import is_label_batch
from sinks.embeddings import Embedder, FloatMatrix
from sinks.sink_settings import SinkSettings

from .label_tags import LabelPolicy, heuristic_tags, label_fields, label_vector
from .memory_records import DEFAULT_MODE, MemoryRecord, SearchFilters, SearchHit, SearchMode, UpsertReport
from .payload import (
    memory_id_of,
    merged_payload,
    new_payload,
    owner,
    point_id,
    scoped_point_id,
    superseding_payload,
)
from .query import TAGS_VECTOR, TEXT_FIELD, TEXT_VECTOR, Condition, Found, Match, PointData, Source
from .query import tenant_conditions as _conditions
from .ranking import fused_top, query_span
from .replays import skip_replays
from .tags import TagProfiler, tag_text, tag_vector

MERGEABLE_KINDS = tuple(kind for kind in MemoryKind if kind is not MemoryKind.SUMMARY)
"""Near-duplicate merges happen among these kinds: a summary is never merged into, nor merged."""


class MemoryStore(ABC):
    """Memories of every tenant in one Qdrant collection; see the module docstring for the operations."""

    def __init__(self, embedder: Embedder, settings: SinkSettings | None = None) -> None:
        self.embedder = embedder
        self.settings = settings or SinkSettings()
        self._write_lock = threading.RLock()
        self._profiler: TagProfiler | None = None

    # --- backend primitives -------------------------------------------------------------------
    @abstractmethod
    def _write(self, points: Sequence[PointData]) -> None: ...

    @abstractmethod
    def _retrieve(self, ids: Sequence[str]) -> list[Found]: ...

    @abstractmethod
    def _scroll(self, conditions: Sequence[Condition], limit: int) -> list[Found]: ...

    @abstractmethod
    def _query(
        self, conditions: Sequence[Condition], source: Source, limit: int, *, with_payload: bool = True
    ) -> list[Found]:
        """The `limit` best points of `source`'s ranking among those matching `conditions` (payloads optional)."""

    @abstractmethod
    def _set_payload(self, point: str, payload: dict[str, object]) -> None:
        """Set (add or replace) the given payload fields of one point."""

    @abstractmethod
    def _set_tags(self, point: str, payload: dict[str, object], tags: list[float] | None) -> None:
        """Set the given payload fields of one point and replace its tag vector (None: remove it)."""

    @abstractmethod
    def _scroll_page(
        self, conditions: Sequence[Condition], limit: int, offset: str | None
    ) -> tuple[list[Found], str | None]:
        """Up to `limit` points from `offset` on (None: the first), and the offset of the next page."""

    @abstractmethod
    def _count(self, conditions: Sequence[Condition]) -> int: ...

    @abstractmethod
    def flush(self) -> None:
        """Make every upsert so far durable (the sink calls this before committing offsets)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the engine; the store cannot be used afterwards."""

    # --- writes -------------------------------------------------------------------------------
    def upsert(self, batch: MemoryBatch) -> UpsertReport:
        """Store `batch`'s memories (idempotent: a replayed batch changes nothing).

        Raises `SinkError` when the engine fails (reads included): the batch's offsets must not be committed.
        """
        try:
            return self._label(batch) if is_label_batch(batch) else self._upsert(batch)
        except SearchError as exc:
            raise SinkError(f"upsert of batch {batch.batch_id} failed: {exc}") from exc

    def _upsert(self, batch: MemoryBatch) -> UpsertReport:
        report = UpsertReport(batch.batch_id)
        with self._write_lock:
            fresh, point_ids, superseded = skip_replays(self, batch, report)
            if not fresh:
                return report
            started = time.perf_counter()
            vectors = self.embedder.embed([memory.text for memory in fresh])
            report.embed_s = time.perf_counter() - started
            pending: dict[str, PointData] = {}
            for memory, vector in zip(fresh, vectors, strict=True):
                tags = tag_text(memory.text, memory.kind, memory.tags)
                if memory.memory_id in superseded:  # a newer summary of the same range: a new version, same id
                    pid = point_ids[memory.memory_id]
                    payload = superseding_payload(
                        pid,
                        superseded[memory.memory_id],
                        batch,
                        memory,
                        tags=tags,
                        now=utc_now(),
                        max_history=self.settings.max_history,
                        context_chars=self.settings.lexical_context_chars,
                    )
                    report.updated[memory.memory_id] = memory.memory_id
                    pending[pid] = PointData(pid, vector.tolist(), tag_vector(payload["tags"]), payload)
                    continue
                summary = memory.kind is MemoryKind.SUMMARY  # summaries are never merged, nor merged into
                target = None if summary else self._duplicate_of(batch.tenant_id, owner(batch, memory), vector, pending)
                if target is None:
                    pid = point_ids[memory.memory_id]
                    payload = new_payload(batch, memory, tags, pid, context_chars=self.settings.lexical_context_chars)
                    report.inserted.append(memory.memory_id)
                else:
                    pid, existing = target
                    payload = merged_payload(
                        pid,
                        existing,
                        batch,
                        memory,
                        tags=tags,
                        now=utc_now(),
                        max_history=self.settings.max_history,
                        context_chars=self.settings.lexical_context_chars,
                    )
                    report.updated[memory.memory_id] = memory_id_of(pid, existing)
                pending[pid] = PointData(pid, vector.tolist(), tag_vector(payload["tags"]), payload)
            started = time.perf_counter()
            self.write_points(list(pending.values()))
            report.write_s = time.perf_counter() - started
            report.points_written = len(pending)
        return report

    def _label(self, batch: MemoryBatch) -> UpsertReport:
        report = UpsertReport(batch.batch_id)
        with self._write_lock:
            for memory in batch.memories:
                if self._set_labels(batch.tenant_id, memory):
                    report.labelled.append(memory.memory_id)
                else:
                    report.labels_skipped.append(memory.memory_id)
            report.points_written = len(report.labelled)
            if report.labelled:
                self._after_write(len(report.labelled))
        return report

    def _holder(self, tenant_id: str, memory_id: str) -> Found | None:
        """The point of `tenant_id` holding `memory_id` (its own, or the memory it was merged into)."""
        ids = [point_id(memory_id), scoped_point_id(tenant_id, memory_id)]
        found = [f for f in self._retrieve(ids) if f.payload.get("tenant_id") == tenant_id]
        if not found:
            found = self._scroll([Match("tenant_id", tenant_id), Match("merged_ids", memory_id)], 1)
        return found[0] if found else None

    def _set_labels(self, tenant_id: str, memory: Memory) -> bool:
        """Apply `memory.labels` to its stored point; False when there is nothing to do (idempotent)."""
        holder = self._holder(tenant_id, memory.memory_id) if memory.labels else None
        if holder is None or holder.payload.get("text") != memory.text:
            return False  # not stored (or not this tenant's), or its text changed since it was labelled
        s = self.settings
        policy = LabelPolicy(s.label_tags, s.vocabulary_label_weight, s.free_label_weight)
        heuristic = heuristic_tags(holder.payload)
        fields = label_fields(heuristic, memory.labels, memory.labels_model, policy)
        if all(holder.payload.get(key) == value for key, value in fields.items()):
            return False  # a replay: the same labels are there already
        self._set_tags(holder.id, fields, label_vector(heuristic, memory.labels, policy))
        return True

    def write_points(self, points: Sequence[PointData]) -> None:
        """Write prepared points as they are: no embedding, replay check or dedupe (bulk loads, benchmarks)."""
        with self._write_lock:
            for start in range(0, len(points), self.settings.upsert_batch_size):
                self._write(points[start : start + self.settings.upsert_batch_size])
            self._after_write(len(points))

    def _after_write(self, points: int) -> None:  # noqa: B027 - optional hook for backends
        """Called once per upsert after its points are written (durability, optimisation)."""

    def _duplicate_of(
        self, tenant_id: str, user_id: str, vector: FloatMatrix, pending: dict[str, PointData]
    ) -> tuple[str, dict[str, object]] | None:
        """The same user's memory `vector` near-duplicates (stored or written earlier in this batch)."""
        threshold = self.settings.dedupe_update_threshold
        best: tuple[float, str] | None = None
        for pid, point in pending.items():
            if point.payload.get("kind") == MemoryKind.SUMMARY.value:
                continue
            owners = point.payload.get("user_id")
            if owners != user_id and not (isinstance(owners, list) and user_id in owners):
                continue  # another person's memory: never merged into
            score = float(np.dot(np.asarray(point.text, dtype=np.float32), vector))
            if score >= threshold and (best is None or score > best[0]):
                best = (score, pid)
        conditions = _conditions(tenant_id, SearchFilters(user_id=user_id, kinds=MERGEABLE_KINDS))
        source = Source(TEXT_VECTOR, dense=vector.tolist(), score_threshold=threshold)
        for found in self._query(conditions, source, 1):
            if best is None or found.score > best[0]:
                return found.id, dict(pending[found.id].payload if found.id in pending else found.payload)
        return (best[1], dict(pending[best[1]].payload)) if best else None

    # --- reads --------------------------------------------------------------------------------
    def search(
        self,
        tenant_id: str,
        query: str,
        filters: SearchFilters | None = None,
        *,
        limit: int = 10,
        min_score: float | None = None,
        mode: SearchMode | str = DEFAULT_MODE,
        now: datetime | None = None,
    ) -> list[SearchHit]:
        """Memories of `tenant_id` matching `query` and `filters`, best first.

        `min_score` bounds the cosine similarity of every hit (in the fused modes, hits the dense ranking
        did not find are then left out); `SearchHit.score` is the fused score there (`settings.fusion`).
        `now` is the time relative expressions in the query ("two weeks ago") are read against (default:
        the time of the call).
        """
        if not query.strip():
            raise SearchError("empty search query")
        if limit < 1:
            raise SearchError(f"limit must be at least 1, got {limit}")
        try:
            mode = SearchMode(mode)
        except ValueError as exc:
            raise SearchError(f"unknown search mode {mode!r}; use one of {[m.value for m in SearchMode]}") from exc
        conditions = self._tenant_conditions(tenant_id, filters)
        s = self.settings
        span = query_span(query, now or utc_now(), s, conditions)
        vector = self.embedder.embed_one(query)
        dense = Source(TEXT_VECTOR, dense=vector.tolist(), score_threshold=min_score)
        if mode is SearchMode.DENSE:
            return self._hits(tenant_id, self._query(conditions, dense, limit))
        n = limit * s.prefetch_factor
        lists = [self._query(conditions, dense, n, with_payload=False)]
        if mode is SearchMode.HYBRID:
            lists.append(self._query(conditions, Source(TEXT_FIELD, text=query), n, with_payload=False))
            weights = s.hybrid_weights
        else:
            if self._profiler is None:
                self._profiler = TagProfiler(self.embedder)
            tags = Source(TAGS_VECTOR, dense=self._profiler.profile(query, vector))
            lists.append(self._query(conditions, tags, n, with_payload=False))
            weights = s.multivector_weights
        in_span = () if span is None else {f.id for f in self._query([*conditions, span], dense, n, with_payload=False)}
        fused = fused_top(lists, weights, limit, s, self._payloads, in_span=in_span, dense_only=min_score is not None)
        return self._hits(tenant_id, fused)

    def _payloads(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {found.id: found.payload for found in self._retrieve(ids)} if ids else {}

    def nearest(
        self, tenant_id: str, user_id: str, vector: Sequence[float] | FloatMatrix, limit: int = 5
    ) -> list[SearchHit]:
        """The user's `limit` memories most similar to `vector` (a unit vector of this store's embedder)."""
        dense = np.asarray(vector, dtype=np.float32).reshape(-1)
        if dense.shape[0] != self.embedder.dim:
            raise SearchError(f"vector has {dense.shape[0]} dims, the store's embedder {self.embedder.dim}")
        conditions = self._tenant_conditions(tenant_id, SearchFilters(user_id=user_id))
        return self._hits(tenant_id, self._query(conditions, Source(TEXT_VECTOR, dense=dense.tolist()), limit))

    def get(self, tenant_id: str, memory_id: str) -> MemoryRecord | None:
        """The memory `memory_id` (or the memory it was merged into) of `tenant_id`, or None."""
        found = self._holder(tenant_id, memory_id)
        return MemoryRecord.from_payload(found.id, found.payload) if found is not None else None

    def records(
        self, tenant_id: str, filters: SearchFilters | None = None, *, page: int = 512
    ) -> Iterator[MemoryRecord]:
        """Every stored memory of `tenant_id` (matching `filters`), page by page, in point id order."""
        conditions = self._tenant_conditions(tenant_id, filters)
        offset: str | None = None
        while True:
            found, offset = self._scroll_page(conditions, page, offset)
            for point in found:
                if point.payload.get("tenant_id") == tenant_id:
                    yield MemoryRecord.from_payload(point.id, point.payload)
            if offset is None or not found:
                return

    def count(self, tenant_id: str | None = None) -> int:
        """Stored memories, of one tenant or of all."""
        return self._count(self._tenant_conditions(tenant_id) if tenant_id is not None else [])

    def _tenant_conditions(self, tenant_id: str, filters: SearchFilters | None = None) -> list[Condition]:
        try:
            return _conditions(tenant_id, filters)
        except ValueError as exc:
            raise SearchError(str(exc)) from exc

    @staticmethod
    def _hits(tenant_id: str, found: Sequence[Found]) -> list[SearchHit]:
        # Defence in depth: every query filters by tenant already.
        return [
            SearchHit(f.score, MemoryRecord.from_payload(f.id, f.payload))
            for f in found
            if f.payload.get("tenant_id") == tenant_id
        ]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["MemoryStore"]
