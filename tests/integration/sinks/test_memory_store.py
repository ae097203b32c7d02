"""The memory store on real engines on disk: the embedded qdrant-edge shard and qdrant-client.

Every test runs on both backends (qdrant-client in local mode stands in for a server here).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.errors import SearchError
from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.embeddings import Embedder, shared_onnx_embedder
from sinks.memory_store import (
    ClientMemoryStore,
    EdgeMemoryStore,
    MemoryStore,
    SearchFilters,
    SearchHit,
    SearchMode,
)
from sinks.sink_settings import SinkSettings

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
BACKENDS = ["edge", "client"]


def memory(text: str, kind: MemoryKind = MemoryKind.FACT, *, when: datetime = T0, mid: str | None = None) -> Memory:
    return Memory(memory_id=mid or str(uuid.uuid4()), kind=kind, text=text, confidence=0.9, event_time=when)


def make_batch(
    *memories: Memory, tenant: str = "acme", user: str = "ana", agent: str = "helper", offset: int = 1
) -> MemoryBatch:
    return MemoryBatch(
        batch_id=str(uuid.uuid4()),
        request_id=str(uuid.uuid4()),
        conversation_id=f"conv-{user}",
        tenant_id=tenant,
        user_id=user,
        agent_id=agent,
        extractor="heuristic",
        extractor_version="1.0",
        memories=memories,
        lineage=Lineage(
            source_topic="memlane.extraction.requests.v1",
            source_partition=0,
            source_offset=offset,
            first_turn_index=0,
            last_turn_index=4,
        ),
    )


def open_store(kind: str, path: Path, embedder: Embedder) -> MemoryStore:
    settings = SinkSettings()
    if kind == "edge":
        return EdgeMemoryStore(path / "edge", embedder, settings)
    return ClientMemoryStore.local(path / "client", embedder, settings)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_onnx_embedder()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[MemoryStore]:
    s = open_store(request.param, tmp_path, embedder)
    yield s
    s.close()


def texts(hits: list[SearchHit]) -> list[str]:
    return [hit.text for hit in hits]


def test_replaying_a_batch_adds_no_points(store: MemoryStore) -> None:
    batch = make_batch(memory("Ana loves sushi"), memory("Ana is learning the cello"))
    first = store.upsert(batch)
    assert len(first.inserted) == 2 and first.points_written == 2
    again = store.upsert(batch)
    assert again.inserted == [] and again.unchanged == [m.memory_id for m in batch.memories]
    assert again.points_written == 0
    assert store.count() == 2
    assert store.get("acme", batch.memories[0].memory_id) is not None


def test_near_duplicate_updates_and_keeps_history(store: MemoryStore) -> None:
    old = memory("I love pizza")
    store.upsert(make_batch(old))
    new = memory("I really love pizza", when=T0 + timedelta(days=1))
    report = store.upsert(make_batch(new, offset=2))
    assert report.updated == {new.memory_id: old.memory_id} and report.inserted == []
    assert store.count() == 1
    record = store.get("acme", new.memory_id)
    assert record is not None and record == store.get("acme", old.memory_id)
    assert record.memory_id == old.memory_id and record.text == "I really love pizza" and record.version == 2
    assert [v.text for v in record.history] == ["I love pizza"]
    assert record.history[0].lineage is not None and record.history[0].lineage.source_offset == 1
    assert record.lineage is not None and record.lineage.source_offset == 2
    assert store.upsert(make_batch(new, offset=2)).unchanged == [new.memory_id]  # replay of the update
    assert store.get("acme", new.memory_id) == record
    # another user's identical memory is not a duplicate of Ana's
    assert store.upsert(make_batch(memory("I love pizza"), user="bob")).inserted
    assert store.count() == 2


def test_duplicates_within_one_batch_merge(store: MemoryStore) -> None:
    first = memory("Alice is flying to Tokyo next week for a conference")
    second = memory("Alice flies to Tokyo next week for a conference")
    report = store.upsert(make_batch(first, second))
    assert report.updated == {second.memory_id: first.memory_id}
    assert len(report.inserted) == 1 and len(report.updated) == 1
    assert store.count() == 1


def test_filters(store: MemoryStore) -> None:
    store.upsert(make_batch(memory("Ana loves sushi"), memory("Deploy failed with a timeout", MemoryKind.ERROR)))
    store.upsert(make_batch(memory("Bob loves tacos"), user="bob", agent="coder"))
    store.upsert(make_batch(memory("Ana plans a trip to Kyoto", when=T0 + timedelta(days=30)), offset=3))
    query = "what food do they like"
    assert set(texts(store.search("acme", query, SearchFilters(user_id="bob")))) == {"Bob loves tacos"}
    assert set(texts(store.search("acme", query, SearchFilters(agent_id="coder")))) == {"Bob loves tacos"}
    errors = store.search("acme", query, SearchFilters(kinds=(MemoryKind.ERROR,)))
    assert texts(errors) == ["Deploy failed with a timeout"]
    travel = store.search("acme", query, SearchFilters(tags=("travel",)))
    assert texts(travel) == ["Ana plans a trip to Kyoto"]
    later = store.search("acme", query, SearchFilters(since=T0 + timedelta(days=1)))
    assert texts(later) == ["Ana plans a trip to Kyoto"]
    assert len(store.search("acme", query, SearchFilters(user_id="ana"))) == 3
    assert len(store.search("acme", query, limit=1)) == 1
    assert texts(store.search("acme", "sushi", min_score=0.99)) == []


def test_tenants_are_isolated(store: MemoryStore) -> None:
    shared_id = str(uuid.uuid4())
    store.upsert(make_batch(memory("Ana loves sushi", mid=shared_id)))
    assert store.search("globex", "Ana loves sushi") == []
    assert store.search("globex", "sushi", mode=SearchMode.HYBRID) == []
    assert store.search("globex", "sushi", mode=SearchMode.MULTIVECTOR) == []
    assert store.get("globex", shared_id) is None
    assert store.nearest("globex", "ana", store.embedder.embed_one("Ana loves sushi")) == []
    # the same memory id in another tenant gets its own point; neither overwrites the other
    report = store.upsert(make_batch(memory("Ana loves sushi", mid=shared_id), tenant="globex"))
    assert report.inserted == [shared_id]
    assert store.count("acme") == 1 and store.count("globex") == 1 and store.count() == 2
    globex = store.get("globex", shared_id)
    assert globex is not None and globex.tenant_id == "globex" and globex.memory_id == shared_id
    acme = store.get("acme", shared_id)
    assert acme is not None and acme.tenant_id == "acme"
    assert store.upsert(make_batch(memory("Ana loves sushi", mid=shared_id), tenant="globex")).unchanged
    with pytest.raises(SearchError):
        store.search("", "sushi")


def test_nearest_serves_dedupe_lookups(store: MemoryStore) -> None:
    store.upsert(make_batch(memory("Ana loves sushi"), memory("Ana works at a bakery")))
    store.upsert(make_batch(memory("Bob loves sushi"), user="bob"))
    hits = store.nearest("acme", "ana", store.embedder.embed_one("Ana really likes sushi"), limit=5)
    assert texts(hits)[0] == "Ana loves sushi" and len(hits) == 2
    assert hits[0].score > 0.8 > hits[1].score
    with pytest.raises(SearchError):
        store.nearest("acme", "ana", [0.0] * 3)


def test_hybrid_and_multivector_modes(store: MemoryStore) -> None:
    store.upsert(
        make_batch(
            memory("Order XK-4471 was shipped to the Lisbon office"),
            memory("Ana's favourite dish is grilled sardines"),
            memory("Ana's brother is a nurse in Porto"),
            memory("The CI pipeline crashed with an out-of-memory error", MemoryKind.ERROR),
        )
    )
    hybrid = store.search("acme", "XK-4471", mode=SearchMode.HYBRID, limit=2)
    assert texts(hybrid)[0] == "Order XK-4471 was shipped to the Lisbon office"
    multi = store.search("acme", "what does Ana like to eat", mode="multivector", limit=2)
    assert texts(multi)[0] == "Ana's favourite dish is grilled sardines"
    assert multi[0].score > multi[1].score
    with pytest.raises(SearchError):
        store.search("acme", "x", mode="sparse")


@pytest.mark.parametrize("kind", BACKENDS)
def test_store_reopens_with_the_same_data(kind: str, tmp_path: Path, embedder: Embedder) -> None:
    batch = make_batch(memory("Ana loves sushi"), memory("Ana is learning the cello"))
    with open_store(kind, tmp_path, embedder) as store:
        store.upsert(batch)
        store.upsert(make_batch(memory("Ana really loves sushi")))
        before = store.get("acme", batch.memories[0].memory_id)
    with open_store(kind, tmp_path, embedder) as store:
        assert store.count() == 2
        assert store.get("acme", batch.memories[0].memory_id) == before
        assert texts(store.search("acme", "cello", SearchFilters(user_id="ana"), limit=1)) == [
            "Ana is learning the cello"
        ]
        assert store.upsert(batch).unchanged  # still replay-safe after the restart
        assert store.count() == 2


def summary(text: str, mid: str, level: int = 3) -> Memory:
    return Memory(
        memory_id=mid,
        kind=MemoryKind.SUMMARY,
        text=text,
        confidence=1.0,
        event_time=T0,
        summary_level=level,
        source_turn_indexes=(0, 1, 2),
    )


def test_a_newer_summary_of_the_same_range_supersedes_and_summaries_never_merge(store: MemoryStore) -> None:
    mid = str(uuid.uuid4())
    store.upsert(make_batch(memory("Ana moved to Lisbon in May and works as a nurse there")))
    first = store.upsert(make_batch(summary("Ana moved to Lisbon in May and works as a nurse there", mid)))
    assert first.inserted == [mid]  # a summary is never merged into a near-duplicate fact
    assert store.upsert(make_batch(summary("Ana moved to Lisbon in May and works as a nurse there", mid))).unchanged
    report = store.upsert(make_batch(summary("Ana lives in Lisbon, works as a nurse and plans a trip", mid)))
    assert report.updated == {mid: mid}
    record = store.get("acme", mid)
    assert record is not None and record.version == 2 and record.summary_level == 3
    assert record.text.startswith("Ana lives") and record.history[0].text.startswith("Ana moved")
    third = store.upsert(make_batch(summary("Ana lives in Lisbon; the trip is booked for June", mid)))
    assert third.updated == {mid: mid}
    again = store.get("acme", mid)
    assert again is not None and again.version == 3 and again.merged_ids == ()
    assert store.count("acme") == 2
