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
    confidence: str | float = "high",
    sources: tuple[int, ...] = (0,),
    subject: str = "user",
) -> dict[str, Any]:
    return {"text": text, "subject": subject, "source_turns": list(sources), "confidence": confidence}


def doc(**lists: list[dict[str, Any]]) -> dict[str, Any]:
    return {"facts": [], "decisions": [], "next_steps": [], "errors": []} | lists


def test_schema_is_self_contained_and_strict() -> None:
    schema = result_json_schema()
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    assert schema["type"] == "object"
    assert set(schema["required"]) == {"facts", "decisions", "next_steps", "errors"}
    entry = schema["properties"]["facts"]["items"]
    assert list(entry["properties"]) == ["text", "subject", "source_turns", "confidence"]  # the answer's order
    assert set(entry["required"]) == {"text", "subject", "source_turns", "confidence"}
    assert entry["properties"]["confidence"]["enum"] == ["high", "medium", "low"]
    assert entry["properties"]["text"]["maxLength"] == 200
    assert schema["additionalProperties"] is False
    assert result_json_schema() is not result_json_schema()  # callers may not corrupt the cached copy


def test_schema_for_a_request_bounds_what_a_grammar_can_enforce() -> None:
    """Only constraints a JSON-schema grammar enforces: an enum, lengths, integer bounds of the window's turns."""
    request = simple_request()
    schema = result_json_schema(request, max_items=2)
    facts = schema["properties"]["facts"]
    assert facts["maxItems"] == 2
    assert facts["items"]["properties"]["source_turns"]["items"] == {"type": "integer", "minimum": 0, "maximum": 1}
    assert "minimum" not in facts["items"]["properties"]["confidence"]


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
        (json.dumps(doc(facts=[item(confidence="certain")])), "schema_violation"),
        (json.dumps(doc(facts=[item(sources=("evt-0",))])), "schema_violation"),  # type: ignore[arg-type]
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
            parse_result(doc(facts=[item(confidence="low"), item("b", "medium")])),
            request,
            min_confidence=0.7,
            max_items_per_kind=20,
        )
    assert info.value.error_class == "low_confidence"

    memories, warnings = accept(
        parse_result(doc(facts=[item(confidence="high"), item("Runs on Debian", "high"), item("weak", "low")])),
        request,
        min_confidence=0.7,
        max_items_per_kind=20,
    )
    assert [(m.text, m.confidence) for m in memories] == [("Uses Postgres 16", 0.9), ("Runs on Debian", 0.9)]
    assert warnings == ("dropped 1 facts below 0.70",)


def test_accept_caps_items_per_kind_and_empty_results_pass() -> None:
    request = simple_request()
    many = doc(next_steps=[item(f"step {i}") for i in range(5)])
    memories, warnings = accept(parse_result(many), request, min_confidence=0.7, max_items_per_kind=3)
    assert len(memories) == 3 and "kept the first 3 of 5 next_steps" in warnings
    assert accept(parse_result(doc()), request, min_confidence=0.7, max_items_per_kind=3) == ((), ())


def test_memories_cite_their_turns_drop_unknown_numbers_and_merge_duplicates() -> None:
    request = simple_request()
    repairs: list[str] = []
    result = parse_result(
        doc(
            facts=[item("Dark mode", "medium", (1, 0, 7)), item("dark  mode.", "high", (0,), subject="")],
            decisions=[item("Dark mode", "high", ())],
        )
    )
    fact, decision = to_memories(result, request, tags=("t",), repairs=repairs)
    assert fact.text == "dark  mode." and fact.confidence == 0.9 and fact.subject is None
    assert (fact.source_turn_ids, fact.source_turn_indexes) == (("evt-0",), (0,))
    assert repairs == ["invalid_turn_index"]  # turn 7 is not in the window (counted when the duplicate was mapped)
    assert decision.kind is MemoryKind.DECISION and decision.priority == 0.9
    assert decision.event_time == max(t.event_time for t in request.turns)
    assert fact.memory_id != decision.memory_id


def test_memories_belong_to_the_speakers_of_their_source_turns() -> None:
    from extraction_support import request_of, turn

    from schemas.events import Role

    maya, tomas = turn(0, "I moved to Lisbon in May.", speaker="Maya"), turn(1, "I work in Porto.", speaker="Tomas")
    request = request_of(
        [maya.model_copy(update={"user_id": "maya"}), tomas.model_copy(update={"user_id": "tomas"})],
        user_id="maya",
    )
    both = doc(facts=[item("Maya moved to Lisbon", sources=(0,)), item("Tomas works in Porto", sources=(1,))])
    lisbon, porto = to_memories(parse_result(both), request)
    assert (lisbon.user_id, lisbon.source_turn_indexes) == ("maya", (0,))
    assert (porto.user_id, porto.user_ids, porto.source_turn_indexes) == ("tomas", ("tomas",), (1,))
    assert Role.USER is request.turns[1].role


def test_ids_are_deterministic_and_scoped() -> None:
    assert identity_text("  Uses   POSTGRES 16. ") == identity_text("uses postgres 16") == "uses postgres 16"
    base = memory_id("acme", "u-1", "fact", "Uses Postgres 16")
    assert base == memory_id("acme", "u-1", "fact", "uses postgres 16.")
    assert base != memory_id("other", "u-1", "fact", "Uses Postgres 16")
    assert base != memory_id("acme", "u-2", "fact", "Uses Postgres 16")
    assert base != memory_id("acme", "u-1", "decision", "Uses Postgres 16")
    assert batch_id("req-1", "ollama") == batch_id("req-1", "ollama") != batch_id("req-1", "claude")
