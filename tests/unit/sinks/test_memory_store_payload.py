"""Memory store internals without an engine: tags, point ids, payloads, records, query conditions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import MemoryRecord, SearchFilters, point_id, tag_text
from sinks.memory_store.label_tags import LabelPolicy, label_fields
from sinks.memory_store.payload import lexical_text, merged_payload, new_payload, scoped_point_id
from sinks.memory_store.query import DateRange, Match, MatchAny, tenant_conditions
from sinks.memory_store.tags import TAG_DIM, TAG_VOCAB, TagProfiler, normalise_tag, tag_slot, tag_vector

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def batch(text: str, memory_id: str, *, batch_id: str = "b1", agent: str | None = "helper") -> MemoryBatch:
    memory = Memory(memory_id=memory_id, kind=MemoryKind.FACT, text=text, confidence=0.8, event_time=T0)
    return MemoryBatch(
        batch_id=batch_id,
        request_id="r1",
        conversation_id="c1",
        tenant_id="acme",
        user_id="ana",
        agent_id=agent,
        extractor="heuristic",
        extractor_version="1.2",
        memories=(memory,),
        lineage=Lineage(
            source_topic="req", source_partition=2, source_offset=41, first_turn_index=3, last_turn_index=7
        ),
    )


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("Ana loves sushi and cooks pasta on Sundays", MemoryKind.FACT, {"food preference"}),
        ("Booked a flight to Lisbon for the conference", MemoryKind.FACT, {"travel"}),
        ("Deploy failed with a timeout", MemoryKind.ERROR, {"error"}),
        ("Call the dentist", MemoryKind.NEXT_STEP, {"plans"}),
        ("Her sister adopted a puppy", MemoryKind.FACT, {"family", "pets"}),
        ("The sky is blue", MemoryKind.FACT, set()),
    ],
)
def test_keyword_tags(text: str, kind: MemoryKind, expected: set[str]) -> None:
    assert set(tag_text(text, kind)) >= expected
    if not expected:
        assert tag_text(text, kind) == ()


def test_tags_are_sorted_normalised_and_include_the_extractors() -> None:
    assert normalise_tag(" Food_Preference ") == "food preference"
    assert tag_text("plain words", extra=["Work-Life", "work life"]) == ("work life",)
    assert tag_text("I love pizza and travel") == ("food preference", "travel")


def test_tag_vector_is_unit_multi_hot_or_absent() -> None:
    assert tag_vector(()) is None
    vector = np.array(tag_vector(("travel", "work", "some custom tag")))
    assert vector.shape == (TAG_DIM,)
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    assert vector[TAG_VOCAB.index("travel")] > 0 and vector[tag_slot("some custom tag")] > 0
    assert tag_slot("some custom tag") >= len(TAG_VOCAB)


def test_query_tag_profile_leans_to_the_topic() -> None:
    embedder = shared_onnx_embedder()
    profiler = TagProfiler(embedder)
    query = "what does she like to eat for dinner"
    profile = np.array(profiler.profile(query, embedder.embed_one(query)))
    assert int(np.argmax(profile)) == TAG_VOCAB.index("food preference")


def test_point_ids_are_deterministic() -> None:
    mid = str(uuid.uuid4())
    assert point_id(mid) == mid
    assert point_id(mid.upper()) == mid
    assert point_id("mem-7") == point_id("mem-7") != point_id("mem-8")
    uuid.UUID(point_id("mem-7"))
    assert scoped_point_id("acme", mid) != scoped_point_id("other", mid) != mid


def test_new_payload_and_record_round_trip() -> None:
    mid = str(uuid.uuid4())
    b = batch("Ana moved to Lisbon", mid)
    payload = new_payload(b, b.memories[0], ("home",), mid)
    assert "memory_id" not in payload and "history" not in payload and "merged_ids" not in payload
    assert payload["tenant_id"] == "acme" and payload["agent_id"] == "helper" and payload["version"] == 1
    assert payload["event_time"] == "2024-05-01T10:00:00+00:00"
    record = MemoryRecord.from_payload(mid, payload)
    assert record.memory_id == mid and record.kind is MemoryKind.FACT and record.tags == ("home",)
    assert record.lineage == b.lineage and record.event_time == T0 and record.history == ()
    b2 = batch("x", "mem-1", agent=None)
    other = new_payload(b2, b2.memories[0], (), point_id("mem-1"))
    assert other["memory_id"] == "mem-1" and "agent_id" not in other


def test_merged_payload_keeps_versions_newest_first() -> None:
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    b1 = batch("Ana lives in Porto", first, batch_id="b1")
    payload = new_payload(b1, b1.memories[0], ("home",), first)
    b2 = batch("Ana lives in Lisbon", second, batch_id="b2")
    payload = merged_payload(first, payload, b2, b2.memories[0], tags=("travel",), now=T1, max_history=5)
    b3 = batch("Ana lives in Lisbon now", third, batch_id="b3")
    payload = merged_payload(first, payload, b3, b3.memories[0], tags=(), now=T1, max_history=5)
    record = MemoryRecord.from_payload(first, payload)
    assert record.memory_id == first and record.text == "Ana lives in Lisbon now" and record.version == 3
    assert record.merged_ids == (second, third)
    assert [v.text for v in record.history] == ["Ana lives in Lisbon", "Ana lives in Porto"]
    assert [v.memory_id for v in record.history] == [second, first]
    assert [v.batch_id for v in record.history] == ["b2", "b1"]
    assert record.history[0].replaced_at == "2024-06-01T10:00:00+00:00"
    assert record.tags == ("home", "travel")
    capped = merged_payload(first, payload, b3, b3.memories[0], tags=(), now=T1, max_history=1)
    assert len(capped["history"]) == 1


def test_a_merge_drops_the_old_texts_labels_from_the_tags_and_keeps_the_heuristic_ones() -> None:
    first, second = (str(uuid.uuid4()) for _ in range(2))
    b1 = batch("Ana lives in Porto", first, batch_id="b1")
    payload = {**new_payload(b1, b1.memories[0], ("home",), first), **label_fields(
        ("home",), ("city life",), "smol", LabelPolicy("union"))}  # fmt: skip
    b2 = batch("Ana lives in Lisbon", second, batch_id="b2")
    merged = merged_payload(first, payload, b2, b2.memories[0], tags=("travel",), now=T1, max_history=5)
    assert merged["tags"] == ["home", "travel"]
    assert not {"labels", "labels_model", "heuristic_tags"} & set(merged)


def test_conditions_always_start_with_the_tenant() -> None:
    assert tenant_conditions("acme") == [Match("tenant_id", "acme")]
    filters = SearchFilters(user_id="ana", kinds=(MemoryKind.ERROR,), tags=("travel",), since=T0)
    conditions = tenant_conditions("acme", filters)
    assert conditions[0] == Match("tenant_id", "acme")
    assert Match("user_id", "ana") in conditions
    assert MatchAny("kind", ("error",)) in conditions and MatchAny("tags", ("travel",)) in conditions
    assert DateRange("event_time", "2024-05-01T10:00:00+00:00", None) in conditions
    with pytest.raises(ValueError, match="tenant"):
        tenant_conditions("")


def test_lexical_field_is_the_text_then_the_nearest_context() -> None:
    plain = batch("Ana loves sushi", "m1")
    payload = new_payload(plain, plain.memories[0], ("food",), point_id("m1"))
    assert payload["lexical"] == "Ana loves sushi" and "context" not in payload
    context = "Ben: where should we eat?\nAna: somewhere near the harbour, I love fish"
    memory = plain.memories[0].model_copy(update={"context": context})
    assert lexical_text(memory) == "Ana loves sushi\n" + context
    cut = lexical_text(memory, context_chars=30)
    assert cut.startswith("Ana loves sushi\n") and cut.endswith("I love fish") and len(cut) <= 16 + 30
    assert lexical_text(memory, context_chars=0) == "Ana loves sushi"
    merged = merged_payload(
        point_id("m1"), payload, plain, memory, tags=("food",), now=T1, max_history=5, context_chars=1200
    )
    assert merged["lexical"] == "Ana loves sushi\n" + context
    assert "lexical" not in merged["history"][0]
