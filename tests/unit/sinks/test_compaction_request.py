"""A compaction request stays a message Kafka takes, however many summaries the conversation has."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.codec import SingleObjectCodec
from schemas.events import MemoryKind
from sinks.memory_store import MemoryRecord
from sinks.search.summaries_api import COMPACTION_MAX_CHARS, compaction_inputs, compaction_request

T0 = datetime(2024, 5, 8, tzinfo=UTC)


def block(index: int, text: str) -> MemoryRecord:
    first = index * 10
    return MemoryRecord(
        memory_id=f"m{index}",
        tenant_id="acme",
        user_id="ana",
        user_ids=("ana", "bruno"),
        agent_id=None,
        conversation_id="c1",
        kind=MemoryKind.SUMMARY,
        text=text,
        priority=0.5,
        confidence=1.0,
        tags=("summary",),
        event_time=T0,
        version=1,
        extractor="summariser",
        extractor_version="1",
        batch_id=f"b{index}",
        lineage=None,
        merged_ids=(),
        source_turn_indexes=tuple(range(first, first + 10)),
        history=(),
        summary_level=2,
    )


def test_a_long_conversation_compacts_within_the_message_limit() -> None:
    blocks = [block(i, f"Block {i}: " + "Ana and Bruno plan the trip to Lisbon. " * 60) for i in range(5000)]
    request = compaction_request("acme", "c1", compaction_inputs(blocks))
    shown = sum(len(turn.content or "") for turn in request.turns)
    assert shown <= COMPACTION_MAX_CHARS + len(request.turns)
    assert request.turns[-1].event_id == "m4999" and request.last_turn_index == 49_999, "the latest are kept"
    assert len(SingleObjectCodec().encode(request)) < 1_000_000
    few = compaction_request("acme", "c1", compaction_inputs(blocks[:3]))
    assert [turn.content for turn in few.turns] == [b.text for b in blocks[:3]], "short ones are whole"
