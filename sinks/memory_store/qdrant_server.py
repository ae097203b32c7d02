"""The server backend: a Qdrant collection reached through `qdrant-client` (`MEMLANE_QDRANT_URL`).

The collection mirrors the embedded shard: named vectors `text` (turbo8 originals, int8 scalar
quantization in RAM) and `tags`, keyword / datetime indexes on the filter fields (`tenant_id` as the tenant key)
and a BM25-scoring full-text index on `lexical` (text + context window). The server optimises and
indexes in the background.

`ClientMemoryStore.local(path)` runs qdrant-client's *local mode* (`QdrantClient(path=...)` or
`":memory:"`). Local mode is for tests only: it is a pure-Python brute-force engine that keeps
everything in memory, ignores keyword indexes, and supports BM25 only with the default tokenization
(no stemming, stop words or per-tenant IDF), so hybrid rankings differ slightly from a server's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from schemas.errors import ConfigError, MemlaneError, SearchError, SinkError
from sinks.embeddings import Embedder
from sinks.sink_settings import SinkSettings

from .memory_store import MemoryStore
from .migrate import LEXICAL_FIELD, backfill_lexical
from .payload import FILTER_FIELDS
from .query import TAGS_VECTOR, TEXT_VECTOR, Condition, Found, Match, MatchAny, PointData, Source
from .tags import TAG_DIM

_HINT = "the Qdrant server store needs qdrant-client: pip install 'memlane[sinks]'"


def _models() -> Any:
    try:
        from qdrant_client import models
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    return models


@contextmanager
def _engine(error: type[MemlaneError], what: str) -> Iterator[None]:
    try:
        yield
    except MemlaneError:
        raise
    except Exception as exc:  # UnexpectedResponse, transport errors, ValueError from local mode
        raise error(f"qdrant {what} failed: {exc}") from exc


class ClientMemoryStore(MemoryStore):
    """Memories in the Qdrant collection `settings.collection`, through a `QdrantClient`."""

    def __init__(
        self, client: Any, embedder: Embedder, settings: SinkSettings | None = None, *, local: bool = False
    ) -> None:
        super().__init__(embedder, settings)
        self._m = _models()
        self._client = client
        self._local = local
        self._name = self.settings.collection
        with _engine(ConfigError, f"setting up collection {self._name!r}"):
            self._ensure_collection()
        self._params = self._m.SearchParams(
            hnsw_ef=self.settings.hnsw_ef, quantization=self._m.QuantizationSearchParams(rescore=True)
        )

    @classmethod
    def connect(
        cls, url: str, embedder: Embedder, settings: SinkSettings | None = None, *, api_key: str | None = None
    ) -> ClientMemoryStore:
        """A store on the Qdrant server at `url`."""
        try:
            from qdrant_client import QdrantClient
        except ImportError as exc:
            raise ImportError(_HINT) from exc
        timeout = (settings or SinkSettings()).qdrant_timeout_s
        return cls(QdrantClient(url=url, api_key=api_key, timeout=timeout), embedder, settings)

    @classmethod
    def local(cls, path: Path | str, embedder: Embedder, settings: SinkSettings | None = None) -> ClientMemoryStore:
        """A store in qdrant-client's local mode (`path` or `":memory:"`). For tests only."""
        try:
            from qdrant_client import QdrantClient
        except ImportError as exc:
            raise ImportError(_HINT) from exc
        client = QdrantClient(location=":memory:") if str(path) == ":memory:" else QdrantClient(path=str(path))
        return cls(client, embedder, settings, local=True)

    def _ensure_collection(self) -> None:
        m, s = self._m, self.settings
        backfill = False
        if self._client.collection_exists(self._name):
            info = self._client.get_collection(self._name)
            backfill = LEXICAL_FIELD not in (info.payload_schema or {}) and bool(info.points_count)
            vectors = info.config.params.vectors
            size = vectors[TEXT_VECTOR].size if isinstance(vectors, dict) and TEXT_VECTOR in vectors else None
            if size != self.embedder.dim:
                raise ConfigError(
                    f"collection {self._name!r} holds {size}-dim text vectors, the embedder "
                    f"{self.embedder.name} makes {self.embedder.dim}: use another collection"
                )
        else:
            quantization = (
                m.ScalarQuantization(
                    scalar=m.ScalarQuantizationConfig(type=m.ScalarType.INT8, quantile=0.99, always_ram=True)
                )
                if s.quantization
                else None
            )
            datatype = m.Datatype(s.vector_datatype)
            self._client.create_collection(
                self._name,
                vectors_config={
                    TEXT_VECTOR: m.VectorParams(
                        size=self.embedder.dim,
                        distance=m.Distance.COSINE,
                        datatype=datatype,
                        quantization_config=quantization,
                    ),
                    TAGS_VECTOR: m.VectorParams(size=TAG_DIM, distance=m.Distance.COSINE, datatype=m.Datatype.FLOAT16),
                },
                hnsw_config=m.HnswConfigDiff(
                    m=s.hnsw_m,
                    ef_construct=s.hnsw_ef_construct,
                    full_scan_threshold=s.full_scan_threshold_kb,
                    payload_m=s.hnsw_payload_m,
                ),
                optimizers_config=m.OptimizersConfigDiff(indexing_threshold=s.indexing_threshold_kb),
            )
        for field, kind in FILTER_FIELDS.items():
            if self._local and kind != "text":
                continue  # local mode ignores keyword indexes (and warns about them)
            self._client.create_payload_index(self._name, field, field_schema=self._schema(field, kind))
        if backfill:
            backfill_lexical(self)

    def _schema(self, field: str, kind: str) -> Any:
        m = self._m
        if field == "tenant_id":
            return m.KeywordIndexParams(type=m.KeywordIndexType.KEYWORD, is_tenant=True)
        if kind == "text":
            if self._local:
                return m.TextIndexParams(
                    type=m.TextIndexType.TEXT, scoring=m.TextScoringParams(type=m.TextScoringType.BM25)
                )
            return m.TextIndexParams(
                type=m.TextIndexType.TEXT,
                tokenizer=m.TokenizerType.WORD,
                lowercase=True,
                stopwords=m.Language.ENGLISH,
                stemmer=m.SnowballParams(type=m.Snowball.SNOWBALL, language=m.SnowballLanguage.ENGLISH),
                scoring=m.TextScoringParams(type=m.TextScoringType.BM25),
            )
        return m.PayloadSchemaType.DATETIME if kind == "datetime" else m.PayloadSchemaType.KEYWORD

    # --- primitives ---------------------------------------------------------------------------
    def _filter(self, conditions: Sequence[Condition]) -> Any:
        m = self._m
        must: list[Any] = []
        for c in conditions:
            if isinstance(c, Match):
                must.append(m.FieldCondition(key=c.key, match=m.MatchValue(value=c.value)))
            elif isinstance(c, MatchAny):
                must.append(m.FieldCondition(key=c.key, match=m.MatchAny(any=list(c.values))))
            else:
                must.append(m.FieldCondition(key=c.key, range=m.DatetimeRange(gte=c.gte, lte=c.lte)))
        return m.Filter(must=must) if must else None

    def _scoring(self, source: Source, conditions: Sequence[Condition]) -> tuple[Any, Any]:
        m = self._m
        if source.text is not None:
            corpus = conditions if self.settings.bm25_idf == "filter" else conditions[:1]
            idf = None if self._local else m.IdfCorpusParams(corpus=self._filter(corpus))
            return m.TextQuery(text=source.text), m.SearchParams(idf=idf) if idf else None
        return source.dense, None if self._local else self._params

    def _query(
        self, conditions: Sequence[Condition], source: Source, limit: int, *, with_payload: bool = True
    ) -> list[Found]:
        query, params = self._scoring(source, conditions)
        with _engine(SearchError, "query"):
            response = self._client.query_points(
                self._name,
                query=query,
                using=source.using,
                search_params=params,
                score_threshold=source.score_threshold,
                query_filter=self._filter(conditions),
                limit=limit,
                with_payload=with_payload,
            )
        return [Found(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def _set_payload(self, point: str, payload: dict[str, object]) -> None:
        with _engine(SinkError, "set payload"):
            self._client.set_payload(self._name, payload=payload, points=[point], wait=True)

    def _set_tags(self, point: str, payload: dict[str, object], tags: list[float] | None) -> None:
        m = self._m
        with _engine(SinkError, "set labels"):
            self._client.set_payload(self._name, payload=payload, points=[point], wait=True)
            if tags:
                vectors = [m.PointVectors(id=point, vector={TAGS_VECTOR: tags})]
                self._client.update_vectors(self._name, points=vectors, wait=True)
            else:
                self._client.delete_vectors(self._name, vectors=[TAGS_VECTOR], points=[point], wait=True)

    def _retrieve(self, ids: Sequence[str]) -> list[Found]:
        with _engine(SearchError, "retrieve"):
            records = self._client.retrieve(self._name, list(ids), with_payload=True, with_vectors=False)
        return [Found(str(r.id), 0.0, r.payload or {}) for r in records]

    def _scroll(self, conditions: Sequence[Condition], limit: int) -> list[Found]:
        return self._scroll_page(conditions, limit, None)[0]

    def _scroll_page(
        self, conditions: Sequence[Condition], limit: int, offset: str | None
    ) -> tuple[list[Found], str | None]:
        with _engine(SearchError, "scroll"):
            records, following = self._client.scroll(
                self._name, scroll_filter=self._filter(conditions), limit=limit, offset=offset, with_payload=True
            )
        return [Found(str(r.id), 0.0, r.payload or {}) for r in records], None if following is None else str(following)

    def _count(self, conditions: Sequence[Condition]) -> int:
        with _engine(SearchError, "count"):
            return int(self._client.count(self._name, count_filter=self._filter(conditions), exact=True).count)

    def _write(self, points: Sequence[PointData]) -> None:
        m = self._m
        structs = [
            m.PointStruct(
                id=p.id,
                vector={TEXT_VECTOR: p.text, TAGS_VECTOR: p.tags} if p.tags else {TEXT_VECTOR: p.text},
                payload=p.payload,
            )
            for p in points
        ]
        with _engine(SinkError, "upsert"):
            self._client.upsert(self._name, structs, wait=True)

    def flush(self) -> None:
        """Nothing to do: `upsert(..., wait=True)` returns once the server applied the write."""

    def close(self) -> None:
        with _engine(SinkError, "close"):
            self._client.close()


__all__ = ["ClientMemoryStore"]
