"""Direct writes planned as memory batches: the ids extraction would give, grouped by owner, replay-stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError as PydanticValidationError

from processors.extraction.memory_ids import memory_id
from processors.memory_write import WRITE_SOURCE, plan_write
from schemas.memory_input import MemoryInput


def test_written_memories_get_extraction_ids_and_replay_stable_batches() -> None:
    inputs = [
        MemoryInput(text="Ana likes figs", user_id="ana"),
        MemoryInput(text="Bruno hates figs", user_id="bruno"),
        MemoryInput(text="  ana LIKES figs. ", user_id="ana"),
        MemoryInput(text="Ana decided to move", user_id="ana", kind="decision", conversation_id="c9"),
    ]
    plan = plan_write("acme", inputs)
    assert plan.memory_ids[0] == memory_id("acme", "ana", "fact", "Ana likes figs") == plan.memory_ids[2]
    assert plan.memory_ids[0] != plan_write("globex", inputs).memory_ids[0], "ids are per tenant"
    assert [(b.user_id, b.conversation_id, len(b.memories)) for b in plan.batches] == [
        ("ana", "direct-write", 1),
        ("bruno", "direct-write", 1),
        ("ana", "c9", 1),
    ]
    assert all(b.extractor == "api" and b.lineage.source_topic == WRITE_SOURCE for b in plan.batches)
    again = plan_write("acme", list(reversed(inputs)))
    assert {b.batch_id for b in again.batches} == {b.batch_id for b in plan.batches}
    imported = plan_write("acme", inputs, extractor="import")
    assert {b.batch_id for b in imported.batches}.isdisjoint(b.batch_id for b in plan.batches)
    with pytest.raises(ValueError, match="extractor"):
        plan_write("acme", inputs, extractor="claude")


def test_mem0_records_map_to_inputs() -> None:
    item = MemoryInput.from_mem0(
        {
            "id": "9f1",
            "memory": "Likes hiking",
            "user_id": "ana",
            "agent_id": "coach",
            "run_id": "r1",
            "categories": ["hobbies"],
            "metadata": {"b": 2, "a": "x", "none": None},
            "created_at": "2024-07-01T12:00:00+02:00",
            "updated_at": "2024-07-02T12:00:00+02:00",
            "hash": "abc",
        }
    )
    assert (item.text, item.user_id, item.agent_id, item.conversation_id) == ("Likes hiking", "ana", "coach", "r1")
    assert item.tags == ("hobbies", "a=x", "b=2") and item.event_time.hour == 10
    native = MemoryInput.from_mem0({"text": "Likes tea", "user_id": "ana"})
    assert native.text == "Likes tea" and native.conversation_id == "direct-write"
    with pytest.raises(ValueError, match="user_id"):
        MemoryInput.from_mem0({"memory": "no owner"})


@pytest.mark.parametrize(
    ("event_time", "says"),
    [
        ("9999-12-31T23:59:00Z", "outside 1970..2199"),
        ("2199-06-01T00:00:00Z", "ahead"),
        (None, "ahead"),  # filled below: two days from now
    ],
)
def test_a_written_memory_cannot_claim_a_far_future_time(event_time: str | None, says: str) -> None:
    """The direct write path refuses the clocks the publisher and the processors refuse (a day ahead at most)."""
    when = event_time or (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with pytest.raises(PydanticValidationError, match=says):
        MemoryInput.model_validate({"text": "Ana moved to Lisbon", "user_id": "ana", "event_time": when})
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert MemoryInput.model_validate({"text": "Ana moved to Lisbon", "user_id": "ana", "event_time": soon})
