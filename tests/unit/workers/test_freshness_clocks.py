"""The memory sink times each new memory from its first source turn's publication, per priority class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from streams.workers.sink_qdrant import new_memory_clocks

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _batch(lineage: Lineage) -> MemoryBatch:
    memories = tuple(
        Memory(
            memory_id=f"m-{i}",
            kind=MemoryKind.FACT,
            text=f"fact {i}",
            confidence=0.9,
            source_turn_indexes=(i,),
            event_time=T0,
        )
        for i in (3, 4)
    )
    return MemoryBatch(
        batch_id="b", request_id="r", conversation_id="c", tenant_id="t", user_id="u", extractor="heuristic",
        extractor_version="1", memories=memories, lineage=lineage,
    )  # fmt: skip


def test_each_new_memory_is_timed_from_its_source_turn() -> None:
    lineage = Lineage(
        source_topic="r", source_partition=0, source_offset=0, first_turn_index=3, last_turn_index=4,
        turn_indexes=(3, 4), turn_published_at=(T0, T0 + timedelta(seconds=5)),
        turn_priority_classes=("fact", "decision"),
    )  # fmt: skip
    batch = _batch(lineage)
    assert new_memory_clocks(batch, {"m-3", "m-4"}) == [("fact", T0), ("decision", T0 + timedelta(seconds=5))]
    assert new_memory_clocks(batch, {"m-4"}) == [("decision", T0 + timedelta(seconds=5))], "a replayed one is not new"


def test_batches_written_before_publish_times_were_carried_are_not_timed() -> None:
    old = Lineage(source_topic="r", source_partition=0, source_offset=0, first_turn_index=3, last_turn_index=4)
    assert new_memory_clocks(_batch(old), {"m-3", "m-4"}) == []
