"""The result model, its JSON schema, validation, the confidence policy and deterministic ids."""

from __future__ import annotations

import json
from typing import Any

import pytest
from extraction_support import simple_request

from processors.extraction.contract import ExtractionError
from processors.extraction.memory_ids import batch_id, identity_text, memory_id
from processors.extraction.result import accept, parse_result, result_json_schema, to_memories
from schemas.events import MemoryKind


def item(
    text: str = "Uses Postgres 16",
    confidence: float = 0.9,
    sources: tuple[str, ...] = ("evt-0",),
    subject: str = "user",
) -> dict[str, Any]:
    return {"text": text, "subject": subject, "confidence": confidence, "source_turn_ids": list(sources)}


def doc(**lists: list[dict[str, Any]]) -> dict[str, Any]:
    return {"facts": [], "decisions": [], "next_steps": [], "errors": []} | lists


def test_schema_is_self_contained_and_strict() -> None:
    schema = result_json_schema()
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    assert schema["type"] == "object"
    assert set(schema["required"]) == {"facts", "decisions", "next_steps", "errors"}
    entry = schema["properties"]["facts"]["items"]
    assert set(entry["required"]) == {"text", "subject", "confidence", "source_turn_ids"}
    assert entry["properties"]["confidence"]["maximum"] == 1.0
    assert schema["additionalProperties"] is False
    assert result_json_schema() is not result_json_schema()  # callers may not corrupt the cached copy


def test_parse_accepts_text_and_objects() -> None:
    payload = doc(facts=[item()], errors=[item("ImportError in worker")])
    assert parse_result(json.dumps(payload)) == parse_result(payload)
    kinds = [kind for kind, _ in parse_result(payload).items()]
    assert kinds == [MemoryKind.FACT, MemoryKind.ERROR]


@pytest.mark.parametrize(
    ("payload", "error_class"),
    [
        ('{"facts": [', "invalid_json"),
        ("not json at all", "invalid_json"),
        (json.dumps(doc(facts=[item(confidence=1.5)])), "schema_violation"),
        (json.dumps({"facts": []}), "schema_violation"),
        (json.dumps(doc(facts=[item(text="   ")])), "schema_violation"),
        (json.dumps(doc(extra=[])), "schema_violation"),
        ("[]", "schema_violation"),
    ],
)
def test_parse_failures_are_typed(payload: str, error_class: str) -> None:
    with pytest.raises(ExtractionError) as info:
        parse_result(payload)
    assert info.value.error_class == error_class


def test_accept_fails_low_mean_confidence_and_drops_weak_items() -> None:
    request = simple_request()
    with pytest.raises(ExtractionError) as info:
        accept(
            parse_result(doc(facts=[item(confidence=0.6), item("b", 0.7)])),
            request,
            min_confidence=0.7,
            max_items_per_kind=20,
        )
    assert info.value.error_class == "low_confidence"

    memories, warnings = accept(
        parse_result(doc(facts=[item(confidence=0.95), item("weak", 0.6)])),
        request,
        min_confidence=0.7,
        max_items_per_kind=20,
    )
    assert [m.text for m in memories] == ["Uses Postgres 16"]
    assert warnings == ("dropped 1 facts below 0.70",)


def test_accept_caps_items_per_kind_and_empty_results_pass() -> None:
    request = simple_request()
    many = doc(next_steps=[item(f"step {i}") for i in range(5)])
    memories, warnings = accept(parse_result(many), request, min_confidence=0.7, max_items_per_kind=3)
    assert len(memories) == 3 and "kept the first 3 of 5 next_steps" in warnings
    assert accept(parse_result(doc()), request, min_confidence=0.7, max_items_per_kind=3) == ((), ())


def test_memories_map_turn_indexes_drop_unknown_ids_and_merge_duplicates() -> None:
    request = simple_request()
    result = parse_result(
        doc(
            facts=[item("Dark mode", 0.8, ("1", "evt-0", "ghost")), item("dark  mode.", 0.9, ("#0",), subject="")],
            decisions=[item("Dark mode", 0.9, ())],
        )
    )
    fact, decision = to_memories(result, request, tags=("t",))
    assert fact.text == "dark  mode." and fact.confidence == 0.9 and fact.subject is None
    assert fact.source_turn_ids == ("evt-0",)
    assert decision.kind is MemoryKind.DECISION and decision.priority == 0.9
    assert decision.event_time == max(t.event_time for t in request.turns)
    assert fact.memory_id != decision.memory_id


def test_ids_are_deterministic_and_scoped() -> None:
    assert identity_text("  Uses   POSTGRES 16. ") == identity_text("uses postgres 16") == "uses postgres 16"
    base = memory_id("acme", "u-1", "fact", "Uses Postgres 16")
    assert base == memory_id("acme", "u-1", "fact", "uses postgres 16.")
    assert base != memory_id("other", "u-1", "fact", "Uses Postgres 16")
    assert base != memory_id("acme", "u-2", "fact", "Uses Postgres 16")
    assert base != memory_id("acme", "u-1", "decision", "Uses Postgres 16")
    assert batch_id("req-1", "ollama") == batch_id("req-1", "ollama") != batch_id("req-1", "claude")
