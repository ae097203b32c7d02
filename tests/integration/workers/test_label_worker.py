"""The label worker on the real broker, with the memory sink on a real embedded shard and the fake Ollama.

1. Memories are searchable with their heuristic tags at once; the label worker's label batches, applied by
   the memory sink, add the model's labels to them (payload `labels`, tag filter, hits) with no new version;
   a rerun of the labeller from the start publishes the same batches and changes nothing.
2. A failing local model labels nothing: the heuristic tags stay and the failure is counted by error class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from processors.offload.label_settings import LabelSettings
from processors.offload.labels import Labeller
from schemas.codec import SingleObjectCodec
from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind, UsageRecord
from schemas.keys import person_key
from schemas.labels import is_label_batch
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore, SearchFilters, SearchMode
from streams.kafka.consumer import read_topic
from streams.kafka.producer import ReliableProducer
from streams.settings import Settings
from streams.testing.fake_ollama import FakeOllamaServer
from streams.verifier import verify
from streams.wiring.groups import verifier_groups
from streams.wiring.workers import run_label, run_sink_qdrant

MODEL = "memlane-smollm2"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TEXTS = {
    "ana": ("Ana prefers green tea over coffee in the morning", "Ana flies to Reykjavik every winter"),
    "bruno": ("Bruno adopted a three-legged greyhound called Pixel", "Bruno fixes vintage motorcycles"),
}
LABELS = {"tea": "drink preference", "Reykjavik": "winter travel", "greyhound": "pet dog", "motorcycles": "hobby"}


def answer(body: dict[str, Any]) -> str:
    """The scripted model: one label per memory from a keyword of its text, plus `personal fact`."""
    lines = re.findall(r"^(\d+)\. (.*)$", body["messages"][-1]["content"], flags=re.M)
    out = [
        {"n": int(n), "labels": [*[label for word, label in LABELS.items() if word in text][:1], "Personal_Fact"]}
        for n, text in lines
    ]
    return json.dumps({"labels": out})


def batches() -> list[MemoryBatch]:
    out = []
    for user, texts in TEXTS.items():
        memories = tuple(
            Memory(memory_id=f"{user}-{i}", kind=MemoryKind.FACT, text=text, confidence=0.9, event_time=T0)
            for i, text in enumerate(texts)
        )
        lineage = Lineage(source_topic="t", source_partition=0, source_offset=0, first_turn_index=0, last_turn_index=1)
        out.append(MemoryBatch(batch_id=f"b-{user}", request_id=f"r-{user}", conversation_id=f"c-{user}",
                               tenant_id="acme", user_id=user, extractor="heuristic", extractor_version="1",
                               memories=memories, lineage=lineage))  # fmt: skip
    return out


def publish(settings: Settings, items: list[MemoryBatch]) -> None:
    codec, producer = SingleObjectCodec(), ReliableProducer(settings.kafka)
    for batch in items:
        key = person_key(batch.tenant_id, batch.user_id).encode()
        producer.send(settings.topics.memories, codec.encode(batch), key=key)
    producer.flush()


@pytest.fixture
def fake() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([MODEL], responder=answer, hang_seconds=2.0) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeMemoryStore]:
    shard = EdgeMemoryStore(tmp_path / "shard", shared_onnx_embedder())
    yield shard
    shard.close()


def labeller(fake: FakeOllamaServer, usage: list[UsageRecord]) -> Labeller:
    task = Labeller.connect(fake.url, MODEL, LabelSettings(timeout_s=1.0), on_usage=usage.append)
    task.vocabulary = ("food preference", "travel", "pets")
    return task


def test_model_labels_join_heuristic_tags_without_new_versions_and_a_rerun_changes_nothing(
    kafka_settings: Settings, fake: FakeOllamaServer, store: EdgeMemoryStore, new_group_id: Callable[[str], str]
) -> None:
    publish(kafka_settings, batches())
    sink_group = new_group_id("sink")
    first = run_sink_qdrant(kafka_settings, idle_exit_s=1.5, store=store, group_id=sink_group)
    assert first.inserted == 4 and first.labelled == 0
    tea = store.get("acme", "ana-0")
    assert tea is not None and tea.labels == () and tea.tags, "searchable at once, with heuristic tags"

    usage: list[UsageRecord] = []
    counts = run_label(kafka_settings, idle_exit_s=1.5, labeller=labeller(fake, usage), group_id=new_group_id("lab"))
    assert counts.label_batches == 2 and counts.labelled == 4 and counts.failures == {}
    assert counts.repairs.get("reformatted") == 4, "Personal_Fact normalised"
    assert usage and all(u.outcome == "success" and u.cost_usd == 0.0 for u in usage)
    codec = SingleObjectCodec()
    written = [codec.decode(m.value() or b"", MemoryBatch) for m in read_topic(kafka_settings.kafka,
               kafka_settings.topics.memories)]  # fmt: skip
    assert sum(is_label_batch(b) for b in written) == 2
    labelled_usage = list(read_topic(kafka_settings.kafka, kafka_settings.topics.usage))
    assert len(labelled_usage) == len(usage), "every call's usage record is on the usage topic"

    applied = run_sink_qdrant(kafka_settings, idle_exit_s=1.5, store=store, group_id=sink_group)
    assert applied.labelled == 4 and applied.inserted == 0 and applied.updated == 0
    tea = store.get("acme", "ana-0")
    assert tea is not None and tea.version == 1 and tea.history == ()
    assert tea.labels == ("drink preference", "personal fact") and tea.labels_model == MODEL
    assert tea.tags == ("drink preference", "food preference", "personal fact"), "the heuristic tag stays"
    hits = store.search("acme", "what does Ana drink", SearchFilters(tags=("drink preference",)), mode="multivector")
    assert [h.memory_id for h in hits] == ["ana-0"] and hits[0].record.labels[0] == "drink preference"
    pets = store.search("acme", "animals", SearchFilters(tags=("pet dog",)), mode=SearchMode.HYBRID)
    assert [h.memory_id for h in pets] == ["bruno-0"]
    before = {m: store.get("acme", m) for m in ("ana-0", "ana-1", "bruno-0", "bruno-1")}

    rerun = run_label(kafka_settings, idle_exit_s=1.5, labeller=labeller(fake, []), group_id=new_group_id("again"))
    assert rerun.label_batches == 2, "the same label batches again"
    assert rerun.own_skipped == 4, "label batches read back are skipped: the first run's and its own"
    replay = run_sink_qdrant(kafka_settings, idle_exit_s=1.5, store=store, group_id=sink_group)
    assert replay.labelled == 0 and replay.labels_skipped == 4 and replay.inserted == 0
    assert {m: store.get("acme", m) for m in before} == before and store.count("acme") == 4

    groups = replace(verifier_groups(kafka_settings), sink_qdrant=sink_group)
    report = verify(kafka_settings.stream_context(), groups, store=store)
    assert report.ok, report.discrepancies
    assert (report.memory_batches, report.label_batches, report.memories, report.memories_stored) == (2, 2, 4, 4)


def test_a_failing_model_leaves_the_heuristic_tags_and_counts_the_failure(
    kafka_settings: Settings, fake: FakeOllamaServer, store: EdgeMemoryStore, new_group_id: Callable[[str], str]
) -> None:
    publish(kafka_settings, batches())
    sink_group = new_group_id("sink")
    run_sink_qdrant(kafka_settings, idle_exit_s=1.5, store=store, group_id=sink_group)

    def tags_now() -> dict[str, tuple[str, ...]]:
        return {m: r.tags for m in ("ana-0", "bruno-0") if (r := store.get("acme", m)) is not None}

    tags = tags_now()
    assert len(tags) == 2 and tags["ana-0"] == ("food preference",)
    fake.fail_next(10, "http_500")
    usage: list[UsageRecord] = []
    counts = run_label(kafka_settings, idle_exit_s=1.5, labeller=labeller(fake, usage), group_id=new_group_id("lab"))
    assert counts.label_batches == 0 and counts.labelled == 0
    assert counts.failures == {f"{MODEL}:server_error": counts.calls} and counts.calls >= 1
    assert [u.error_class for u in usage] == ["server_error"] * counts.calls
    after = run_sink_qdrant(kafka_settings, idle_exit_s=1.5, store=store, group_id=sink_group)
    assert after.labelled == 0 and after.batches == 0
    assert tags_now() == tags
