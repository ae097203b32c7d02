"""Ranking on the real engines: BM25 over text + context, score fusion vs the engine's DBSF, time in queries.

Runs on the embedded qdrant-edge shard (and, where the feature exists there, qdrant-client's local mode).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.embeddings import Embedder, shared_onnx_embedder
from sinks.memory_store import ClientMemoryStore, EdgeMemoryStore, MemoryStore, SearchFilters, SearchMode
from sinks.memory_store.fusion import fuse, ranked
from sinks.memory_store.migrate import backfill_lexical
from sinks.memory_store.query import TEXT_FIELD, TEXT_VECTOR, Source, tenant_conditions
from sinks.sink_settings import SinkSettings

MAY = datetime(2023, 5, 8, 12, tzinfo=UTC)
AUGUST = datetime(2023, 8, 20, 12, tzinfo=UTC)
NOW = datetime(2023, 11, 1, tzinfo=UTC)


def memory(text: str, *, when: datetime = MAY, context: str | None = None) -> Memory:
    return Memory(
        memory_id=str(uuid.uuid4()), kind=MemoryKind.FACT, text=text, confidence=0.9, event_time=when, context=context
    )


def batch(*memories: Memory, user: str = "ana") -> MemoryBatch:
    return MemoryBatch(
        batch_id=str(uuid.uuid4()),
        request_id=str(uuid.uuid4()),
        conversation_id="conv-1",
        tenant_id="acme",
        user_id=user,
        extractor="heuristic",
        extractor_version="1",
        memories=memories,
        lineage=Lineage(source_topic="t", source_partition=0, source_offset=1, first_turn_index=0, last_turn_index=3),
    )


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_onnx_embedder()


@pytest.fixture(params=["edge", "client"])
def store(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> MemoryStore:
    settings = SinkSettings(dedupe_update_threshold=1.0)
    if request.param == "edge":
        return EdgeMemoryStore(tmp_path / "edge", embedder, settings)
    return ClientMemoryStore.local(tmp_path / "client", embedder, settings)


def texts(hits: list) -> list[str]:
    return [hit.text for hit in hits]


FILLER = [
    "Ana is learning to play the cello",
    "Ana's brother lives in Porto",
    "Ana prefers tea over coffee",
    "Ana ran a half marathon",
]


def test_bm25_scores_the_context_window_and_the_vector_only_the_text(store: MemoryStore) -> None:
    with store:
        store.upsert(
            batch(
                memory("It felt accepting, I will keep going", context="Ben: I went to the LGBTQ support group"),
                *(memory(text) for text in FILLER),
            )
        )
        record = next(iter(store.records("acme")))
        assert record.text in {"It felt accepting, I will keep going", *FILLER}
        hybrid = store.search("acme", "LGBTQ support group", limit=2)
        assert texts(hybrid)[0] == "It felt accepting, I will keep going"
        dense_vector = store.embedder.embed_one("It felt accepting, I will keep going")
        nearest = store.nearest("acme", "ana", dense_vector, 1)
        assert nearest[0].score == pytest.approx(1.0, abs=0.02)  # the vector is of the text alone
        strict = store.search("acme", "LGBTQ support group", min_score=0.99)
        assert strict == []  # every hit must meet min_score on cosine similarity, BM25 alone is not enough


def test_time_named_in_a_query_boosts_or_filters(tmp_path: Path, embedder: Embedder) -> None:
    memories = [
        memory("Ana went hiking in the hills", when=MAY),
        memory("Ana went hiking in the hills again", when=AUGUST),
    ]
    keep = {"dedupe_update_threshold": 1.0}
    with EdgeMemoryStore(tmp_path / "boost", embedder, SinkSettings(temporal_boost=2.0, **keep)) as store:
        store.upsert(batch(*memories, *(memory(text, when=AUGUST) for text in FILLER)))
        plain = store.search("acme", "when did Ana go hiking again", now=NOW, limit=2)
        assert plain[0].record.event_time == AUGUST
        in_may = store.search("acme", "when did Ana go hiking again in May?", now=NOW, limit=2)
        assert in_may[0].record.event_time == MAY
        dense = store.search("acme", "Ana hiking in May", mode=SearchMode.DENSE, now=NOW, limit=6)
        assert len(dense) == 6  # the dense mode neither boosts nor drops
    with EdgeMemoryStore(tmp_path / "filter", embedder, SinkSettings(temporal="filter", **keep)) as store:
        store.upsert(batch(*memories))
        only = store.search("acme", "what did Ana do in August 2023", now=NOW, limit=5)
        assert [hit.record.event_time for hit in only] == [AUGUST]


def test_client_side_dbsf_ranks_like_the_engine(tmp_path: Path, embedder: Embedder) -> None:
    settings = SinkSettings(fusion="dbsf", hybrid_weights=(1.0, 1.0), dedupe_update_threshold=1.0)
    corpus = [
        "Ana adopted a rescue dog named Biscuit",
        "Biscuit the dog chewed Ana's running shoes",
        "Ana's sister is a vet in Lisbon",
        "Ana walks the dog every morning before work",
        "The deploy of the billing service failed twice",
        "Ana wants to learn to make sourdough",
        "Ana is training for the Lisbon half marathon",
        "Ana bought new running shoes",
    ]
    with EdgeMemoryStore(tmp_path / "dbsf", embedder, settings) as store:
        store.upsert(batch(*(memory(text) for text in corpus)))
        qe = store._qe
        query = "what did Ana's dog do to her shoes"
        conditions = tenant_conditions("acme", SearchFilters(user_id="ana"))
        vector = embedder.embed_one(query).tolist()
        sources = [Source(TEXT_VECTOR, dense=vector), Source(TEXT_FIELD, text=query)]
        lists = [store._query(conditions, source, 8, with_payload=False) for source in sources]
        ours = [pid for pid, _ in ranked(fuse(lists, (1.0, 1.0), "dbsf"), 8)]
        prefetches = []
        for source in sources:
            scoring, params = store._scoring(source, conditions)
            prefetches.append(qe.Prefetch(limit=8, query=scoring, params=params, filter=store._filter(conditions)))
        request = qe.QueryRequest(
            limit=8, prefetches=prefetches, query=qe.Fusion.Dbsf(), filter=store._filter(conditions)
        )
        engine = [str(point.id) for point in store._shard.query(request)]
        assert ours[:5] == engine[:5]
        assert texts(store.search("acme", query, limit=1)) == ["Biscuit the dog chewed Ana's running shoes"]


def test_a_store_written_before_the_lexical_field_is_backfilled_on_open(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "old"
    with EdgeMemoryStore(path, embedder) as store:
        store.upsert(batch(*(memory(text) for text in FILLER)))
        ids = [record.memory_id for record in store.records("acme")]
        qe = store._qe
        store._shard.update(qe.UpdateOperation.delete_payload(ids, ["lexical"]))
        store._shard.update(qe.UpdateOperation.delete_field_index("lexical"))
        store.flush()
    with EdgeMemoryStore(path, embedder) as store:
        assert texts(store.search("acme", "cello", limit=1)) == ["Ana is learning to play the cello"]
        assert backfill_lexical(store) == 0  # nothing left to do
        hits = store._query(tenant_conditions("acme"), Source(TEXT_FIELD, text="marathon"), 5)
        assert [hit.payload["text"] for hit in hits] == ["Ana ran a half marathon"]
