"""The embedded backend: a `qdrant-edge-py` shard on local disk (default `.memlane/qdrant/<collection>`).

No server, no network: the engine runs in this process. The shard holds two named dense vectors,
`text` (the embedder's: turbo8 originals for rescoring + int8 scalar quantization kept in RAM) and `tags` (the
32-dim tag vector), payload indexes on every filter field (`tenant_id` marked as the tenant key) and
a BM25-scoring full-text index on `lexical` (text + context window, see `payload.py`). Edge runs no
background optimiser: HNSW graphs and quantized segments are built by `optimize()`, which the store
calls itself every `optimize_every_points` writes (blocking; search stays correct before it, only slower).

Durability: with the WAL off (the default, see `SinkSettings.edge_wal`) every upsert ends with a
flush, so once `upsert` returns its points survive a killed process; with the WAL on, the log
covers them. A sink may turn the per-upsert flush off (`edge_flush_each_upsert=False`) and call
`flush()` at each checkpoint before committing offsets: what was not flushed is then replayed from
Kafka, and replays are idempotent. One process at a time may open a shard directory.

Full disk: the engine writes through sparse, memory-mapped 32 MB chunks, so the free space it needs is not
what its files take (a new shard takes under 1 MB on ext4 and maps ~190 MB), and a page the filesystem cannot
back is a SIGBUS that kills the process, not an error (on a tmpfs smaller than that, even opening the shard
does). So before every write and optimisation the store checks that its filesystem keeps `edge_min_free_mb`
free; below that it raises `SinkBackpressureError`: the sink commits what it wrote and waits
`edge_disk_retry_s`, the rest of its input waiting in Kafka, until space is back.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from schemas.errors import ConfigError, MemlaneError, SearchError, SinkBackpressureError, SinkError
from sinks.embeddings import Embedder
from sinks.sink_settings import SinkSettings

from .memory_store import MemoryStore
from .migrate import LEXICAL_FIELD, backfill_lexical
from .payload import FILTER_FIELDS
from .query import TAGS_VECTOR, TEXT_VECTOR, Condition, Found, Match, MatchAny, PointData, Source
from .tags import TAG_DIM

_HINT = "the embedded Qdrant store needs qdrant-edge-py: pip install 'memlane[sinks]'"


@contextmanager
def _engine(error: type[MemlaneError], what: str) -> Iterator[None]:
    try:
        yield
    except MemlaneError:
        raise
    except Exception as exc:  # the bindings raise ValueError / RuntimeError / OSError
        raise error(f"qdrant-edge {what} failed: {exc}") from exc


class EdgeMemoryStore(MemoryStore):
    """Memories in an embedded Qdrant shard under `path` (created on first use, reopened after)."""

    def __init__(self, path: Path, embedder: Embedder, settings: SinkSettings | None = None) -> None:
        super().__init__(embedder, settings)
        try:
            import qdrant_edge as qe
        except ImportError as exc:
            raise ImportError(_HINT) from exc
        self._qe: Any = qe
        self.path = path
        self._since_optimize = 0
        config = self._config()
        with _engine(ConfigError, f"opening {path}"):
            if (path / "edge_config.json").exists():
                self._shard = qe.EdgeShard.load(str(path), config)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(path), config)
        self._ensure_indexes()
        s = self.settings
        self._params = qe.SearchParams(hnsw_ef=s.hnsw_ef, quantization=qe.QuantizationSearchParams(rescore=True))

    def _config(self) -> Any:
        qe, s = self._qe, self.settings
        quantization = (
            qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
            if s.quantization
            else None
        )
        types = qe.VectorStorageDatatype
        float16 = types.Float16
        datatype = {"float16": float16, "turbo8": types.Turbo8}.get(s.vector_datatype, types.Float32)
        text = qe.EdgeVectorParams(
            size=self.embedder.dim,
            distance=qe.Distance.Cosine,
            datatype=datatype,
            quantization_config=quantization,
        )
        tags = qe.EdgeVectorParams(size=TAG_DIM, distance=qe.Distance.Cosine, datatype=float16)
        return qe.EdgeConfig(
            vectors={TEXT_VECTOR: text, TAGS_VECTOR: tags},
            hnsw_config=qe.HnswIndexConfig(
                m=s.hnsw_m,
                ef_construct=s.hnsw_ef_construct,
                full_scan_threshold=s.full_scan_threshold_kb,
                payload_m=s.hnsw_payload_m,
            ),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=s.indexing_threshold_kb),
            max_search_threads=s.search_threads,
            wal_enabled=s.edge_wal,
        )

    def _ensure_indexes(self) -> None:
        qe = self._qe
        existing = set(self._shard.info().payload_schema)
        english = qe.SnowballParams(qe.SnowballLanguage.English)
        # Only the tenant key gets HNSW sub-graphs; the other fields are served by their indexes.
        schemas = {
            "keyword": qe.KeywordIndexParams(enable_hnsw=False),
            "datetime": qe.DatetimeIndexParams(enable_hnsw=False),
            "text": qe.TextIndexParams(
                tokenizer=qe.TokenizerType.Word,
                lowercase=True,
                stopwords=qe.Language.English,
                stemmer=english,
                scoring=True,
                enable_hnsw=False,
            ),
        }
        with _engine(ConfigError, "creating payload indexes"):
            for field, kind in FILTER_FIELDS.items():
                if field in existing:
                    continue
                schema = qe.KeywordIndexParams(is_tenant=True) if field == "tenant_id" else schemas[kind]
                self._shard.update(qe.UpdateOperation.create_field_index(field, schema))
        if LEXICAL_FIELD not in existing and existing:
            backfill_lexical(self)

    # --- primitives ---------------------------------------------------------------------------
    def _filter(self, conditions: Sequence[Condition]) -> Any:
        qe = self._qe
        must: list[Any] = []
        for c in conditions:
            if isinstance(c, Match):
                must.append(qe.FieldCondition(c.key, match=qe.MatchValue(c.value)))
            elif isinstance(c, MatchAny):
                must.append(qe.FieldCondition(c.key, match=qe.MatchAny(list(c.values))))
            else:
                must.append(qe.FieldCondition(c.key, range=qe.RangeDateTime(gte=c.gte, lte=c.lte)))
        return qe.Filter(must=must) if must else None

    def _scoring(self, source: Source, conditions: Sequence[Condition]) -> tuple[Any, Any]:
        qe = self._qe
        if source.text is not None:  # BM25, IDF over the tenant (the first condition) or the query's filter
            corpus = conditions if self.settings.bm25_idf == "filter" else conditions[:1]
            idf = qe.IdfParams(corpus=self._filter(corpus))
            return qe.TextQuery(source.using, source.text), qe.SearchParams(idf=idf)
        return qe.Query.Nearest(source.dense, using=source.using), self._params

    def _query(
        self, conditions: Sequence[Condition], source: Source, limit: int, *, with_payload: bool = True
    ) -> list[Found]:
        query, params = self._scoring(source, conditions)
        request = self._qe.QueryRequest(
            limit=limit,
            query=query,
            filter=self._filter(conditions),
            params=params,
            score_threshold=source.score_threshold,
            with_payload=with_payload,
        )
        with _engine(SearchError, "query"):
            points = self._shard.query(request)
        return [Found(str(p.id), float(p.score), p.payload or {}) for p in points]

    def _set_payload(self, point: str, payload: dict[str, object]) -> None:
        with _engine(SinkError, "set payload"):
            self._shard.update(self._qe.UpdateOperation.set_payload([point], payload))

    def _set_tags(self, point: str, payload: dict[str, object], tags: list[float] | None) -> None:
        qe = self._qe
        vectors = (
            qe.UpdateOperation.update_vectors([qe.PointVectors(point, {TAGS_VECTOR: tags})])
            if tags
            else qe.UpdateOperation.delete_vectors([point], [TAGS_VECTOR])
        )
        with _engine(SinkError, "set labels"):
            self._shard.update(qe.UpdateOperation.set_payload([point], payload))
            self._shard.update(vectors)

    def _retrieve(self, ids: Sequence[str]) -> list[Found]:
        with _engine(SearchError, "retrieve"):
            records = self._shard.retrieve(list(ids), with_payload=True, with_vector=False)
        return [Found(str(r.id), 0.0, r.payload or {}) for r in records]

    def _scroll(self, conditions: Sequence[Condition], limit: int) -> list[Found]:
        return self._scroll_page(conditions, limit, None)[0]

    def _scroll_page(
        self, conditions: Sequence[Condition], limit: int, offset: str | None
    ) -> tuple[list[Found], str | None]:
        request = self._qe.ScrollRequest(offset=offset, limit=limit, filter=self._filter(conditions), with_payload=True)
        with _engine(SearchError, "scroll"):
            records, following = self._shard.scroll(request)
        return [Found(str(r.id), 0.0, r.payload or {}) for r in records], None if following is None else str(following)

    def _count(self, conditions: Sequence[Condition]) -> int:
        with _engine(SearchError, "count"):
            return int(self._shard.count(self._qe.CountRequest(exact=True, filter=self._filter(conditions))))

    def _check_space(self, what: str) -> None:
        """Push back (`SinkBackpressureError`) while the shard's filesystem has less than the reserve free."""
        reserve_mb = self.settings.edge_min_free_mb
        if reserve_mb <= 0:
            return
        free_mb = shutil.disk_usage(self.path).free / 2**20
        if free_mb < reserve_mb:
            raise SinkBackpressureError(
                f"{what} waits: {free_mb:.0f} MB free on the filesystem of {self.path}, under the "
                f"{reserve_mb:g} MB the shard keeps (MEMLANE_SINKS__EDGE_MIN_FREE_MB)",
                retry_after=self.settings.edge_disk_retry_s,
            )

    def _write(self, points: Sequence[PointData]) -> None:
        self._check_space("upsert")
        qe = self._qe
        batch = [
            qe.Point(p.id, {TEXT_VECTOR: p.text, TAGS_VECTOR: p.tags} if p.tags else {TEXT_VECTOR: p.text}, p.payload)
            for p in points
        ]
        with _engine(SinkError, "upsert"):
            self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def _after_write(self, points: int) -> None:
        self._since_optimize += points
        every = self.settings.optimize_every_points
        if every and self._since_optimize >= every:
            self.optimize()
        if self.settings.edge_flush_each_upsert and not self.settings.edge_wal:
            self.flush()

    # --- lifecycle ----------------------------------------------------------------------------
    def optimize(self) -> bool:
        """Build HNSW graphs and quantized segments now (blocking); True if anything changed."""
        self._check_space("optimize")
        with self._write_lock, _engine(SinkError, "optimize"):
            self._since_optimize = 0
            return bool(self._shard.optimize())

    def flush(self) -> None:
        with _engine(SinkError, "flush"):
            self._shard.flush()

    def close(self) -> None:
        with _engine(SinkError, "close"):
            self._shard.flush()
            self._shard.close()


__all__ = ["EdgeMemoryStore"]
