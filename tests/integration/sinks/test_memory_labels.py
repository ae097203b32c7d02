"""Label batches on both store backends: the model's labels go to `labels` and join the heuristic tags in `tags`
(the filter) and the tag vector (`label_tags.py`; `label_tags="replace"` drops the heuristic ones), without a new
version, idempotently; a relabel starts from the heuristic tags; stale or unknown labels change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from schemas.labels import LABELLER
from sinks.embeddings import Embedder, shared_onnx_embedder
from sinks.memory_store import ClientMemoryStore, EdgeMemoryStore, MemoryStore, SearchFilters, SearchMode
from sinks.sink_settings import SinkSettings

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
MODEL = "memlane-smollm2"


def batch(*memories: Memory, extractor: str = "heuristic") -> MemoryBatch:
    return MemoryBatch(
        batch_id=str(uuid.uuid4()),
        request_id="r1",
        conversation_id="conv-ana",
        tenant_id="acme",
        user_id="ana",
        extractor=extractor,
        extractor_version="1",
        memories=memories,
        lineage=Lineage(source_topic="t", source_partition=0, source_offset=1, first_turn_index=0, last_turn_index=1),
    )


def labelled(memory: Memory, *labels: str) -> Memory:
    return memory.model_copy(update={"labels": labels, "labels_model": MODEL})


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_onnx_embedder()


@pytest.fixture(params=["edge", "client"])
def store(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[MemoryStore]:
    settings = SinkSettings()
    s = (
        EdgeMemoryStore(tmp_path / "edge", embedder, settings)
        if request.param == "edge"
        else ClientMemoryStore.local(tmp_path / "client", embedder, settings)
    )
    yield s
    s.close()


def test_labels_join_the_heuristic_tags_without_a_new_version_and_replays_change_nothing(store: MemoryStore) -> None:
    ramen = Memory(memory_id="m-ramen", kind=MemoryKind.FACT, text="Ana loves spicy ramen for dinner",
                   confidence=0.9, event_time=T0)  # fmt: skip
    rain = Memory(memory_id="m-rain", kind=MemoryKind.FACT, text="It rained all week in Oslo", confidence=0.9,
                  event_time=T0)  # fmt: skip
    store.upsert(batch(ramen, rain))
    before = store.get("acme", "m-ramen")
    assert before is not None and before.labels == () and before.version == 1
    assert before.tags == ("food preference",)

    report = store.upsert(batch(labelled(ramen, "japanese cuisine", "spicy food"), extractor=LABELLER))
    assert report.labelled == ["m-ramen"] and report.inserted == [] and store.count("acme") == 2
    after = store.get("acme", "m-ramen")
    assert after is not None and after.version == 1 and after.history == ()
    assert after.labels == ("japanese cuisine", "spicy food") and after.labels_model == MODEL
    assert after.tags == ("food preference", "japanese cuisine", "spicy food"), "heuristic tags + labels"

    again = store.upsert(batch(labelled(ramen, "japanese cuisine", "spicy food"), extractor=LABELLER))
    assert again.labelled == [] and again.labels_skipped == ["m-ramen"]
    assert store.get("acme", "m-ramen") == after, "a replayed label batch changes nothing"

    hits = store.search("acme", "ramen", SearchFilters(tags=("japanese cuisine",)), mode=SearchMode.MULTIVECTOR)
    assert [hit.memory_id for hit in hits] == ["m-ramen"]
    assert hits[0].record.labels == ("japanese cuisine", "spicy food")
    assert store.search("acme", "rain", SearchFilters(tags=("japanese cuisine",)), mode=SearchMode.DENSE)[0].memory_id \
        == "m-ramen"  # fmt: skip

    relabel = labelled(ramen, "noodles").model_copy(update={"labels_model": "other-model"})
    assert store.upsert(batch(relabel, extractor=LABELLER)).labelled == ["m-ramen"]
    other = store.get("acme", "m-ramen")
    assert other is not None and other.labels == ("noodles",) and other.labels_model == "other-model"
    assert other.tags == ("food preference", "noodles"), "a relabel starts from the heuristic tags"


def test_the_replace_policy_drops_the_heuristic_tags(tmp_path: Path, embedder: Embedder) -> None:
    with EdgeMemoryStore(tmp_path / "edge", embedder, SinkSettings(label_tags="replace")) as store:
        ramen = Memory(memory_id="m-ramen", kind=MemoryKind.FACT, text="Ana loves spicy ramen for dinner",
                       confidence=0.9, event_time=T0)  # fmt: skip
        store.upsert(batch(ramen))
        store.upsert(batch(labelled(ramen, "japanese cuisine"), extractor=LABELLER))
        after = store.get("acme", "m-ramen")
        assert after is not None and after.tags == ("japanese cuisine",) and after.labels == ("japanese cuisine",)


def test_stale_unknown_or_other_tenants_labels_change_nothing(store: MemoryStore) -> None:
    ramen = Memory(memory_id="m-ramen", kind=MemoryKind.FACT, text="Ana loves spicy ramen", confidence=0.9,
                   event_time=T0)  # fmt: skip
    store.upsert(batch(ramen))
    before = store.get("acme", "m-ramen")
    stale = labelled(ramen.model_copy(update={"text": "Ana hates ramen"}), "food")
    unknown = labelled(ramen.model_copy(update={"memory_id": "m-none"}), "food")
    other = batch(labelled(ramen, "food"), extractor=LABELLER).model_copy(update={"tenant_id": "globex"})
    report = store.upsert(batch(stale, unknown, extractor=LABELLER))
    assert report.labelled == [] and report.labels_skipped == ["m-ramen", "m-none"]
    assert store.upsert(other).labelled == []
    assert store.get("acme", "m-ramen") == before and store.count() == 1
