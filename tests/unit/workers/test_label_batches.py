"""Label batches as the label worker builds them: deterministic ids, only labelled memories, no context, the
source batch's identity kept; the hint the model is shown is the heuristic tags."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from schemas.labels import LABELLER, is_label_batch
from streams.workers.label import label_batch, label_batch_id, label_items

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def source() -> MemoryBatch:
    memories = tuple(
        Memory(memory_id=f"m{i}", kind=MemoryKind.FACT, text=text, confidence=0.9, event_time=T0, context="before")
        for i, text in enumerate(("Ana loves sushi", "It rained"))
    )
    lineage = Lineage(source_topic="t", source_partition=0, source_offset=3, first_turn_index=0, last_turn_index=1)
    return MemoryBatch(batch_id="b1", request_id="r1", conversation_id="c", tenant_id="acme", user_id="ana",
                       extractor="ollama", extractor_version="2", model="qwen", prompt_version="p1",
                       memories=memories, lineage=lineage)  # fmt: skip


def test_a_label_batch_carries_only_labelled_memories_under_a_deterministic_id() -> None:
    batch = source()
    out = label_batch(batch, {"m0": ("japanese food",)}, "smol")
    assert out is not None and is_label_batch(out) and not is_label_batch(batch)
    assert out.extractor == LABELLER and out.model == "smol" and out.prompt_version is None
    again = label_batch(batch, {"m0": ("x",)}, "smol")
    assert again is not None and out.batch_id == label_batch_id(batch, "smol") == again.batch_id
    assert out.batch_id != label_batch_id(batch, "other") and out.batch_id != batch.batch_id
    [memory] = out.memories
    assert (memory.memory_id, memory.text) == ("m0", "Ana loves sushi")
    assert (memory.labels, memory.labels_model) == (("japanese food",), "smol")
    assert memory.context is None and out.tenant_id == "acme" and out.user_id == "ana" and out.lineage == batch.lineage
    assert label_batch(batch, {}, "smol") is None


def test_the_model_is_shown_the_heuristic_tags_as_a_hint() -> None:
    first, second = label_items(source().memories)
    assert first.hint == ("food preference",) and second.hint == ()
