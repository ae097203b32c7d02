"""The safe repairs of a model's answer: each one made only where nothing the model stated changes, and counted."""

from __future__ import annotations

import json

import pytest

from processors.extraction.contract import ExtractionError
from processors.extraction.repair import clean_text, confidence_level
from processors.extraction.result import parse_result

GOOD = {"facts": [{"text": "Maya lives in Lisbon", "subject": "Maya", "source_turns": [2], "confidence": "high"}]}
EMPTY = {"decisions": [], "next_steps": [], "errors": []}


def parsed(payload: str | dict[str, object]) -> tuple[list[str], str]:
    repairs: list[str] = []
    result = parse_result(payload, repairs)
    return repairs, result.facts[0].text


@pytest.mark.parametrize(
    ("wrapped", "repair"),
    [
        ("<think>The user moved. I should answer.</think>\n{doc}", "think_block"),
        ("<think>unclosed reasoning\n{doc}", "think_block"),
        ("```json\n{doc}\n```", "code_fence"),
        ("Here are the memories:\n{doc}\nHope this helps!", "surrounding_text"),
    ],
)
def test_wrappers_around_the_json_are_removed_and_counted(wrapped: str, repair: str) -> None:
    text = wrapped.replace("{doc}", json.dumps(GOOD | EMPTY))
    repairs, first = parsed(text)
    assert repair in repairs and first == "Maya lives in Lisbon"


def test_a_clean_answer_needs_no_repair() -> None:
    assert parsed(json.dumps(GOOD | EMPTY)) == ([], "Maya lives in Lisbon")
    assert clean_text('  {"a": 1}\n', []) == '{"a": 1}'


@pytest.mark.parametrize(
    ("value", "level", "repairs"),
    [
        (0.95, "high", ["confidence_number"]),
        (0.7, "medium", ["confidence_number"]),
        (0.2, "low", ["confidence_number"]),
        (90, "high", ["confidence_number"]),  # a percentage
        (5, "low", ["confidence_number"]),
        (4876, "high", ["confidence_number", "confidence_clamped"]),  # what SmolLM2 answered for a 0-1 number
        (-3, "low", ["confidence_number", "confidence_clamped"]),
    ],
)
def test_numeric_confidences_are_normalised_to_levels(value: float, level: str, repairs: list[str]) -> None:
    made: list[str] = []
    assert confidence_level(value, made) == level
    assert made == repairs


def test_numbers_long_texts_and_missing_lists_are_repaired_in_the_document() -> None:
    item = {"text": "word " * 80, "subject": "Maya", "source_turns": [2], "confidence": 0.9}
    repairs: list[str] = []
    result = parse_result({"facts": [item], "errors": []}, repairs)
    assert sorted(repairs) == ["confidence_number", "missing_list", "missing_list", "text_cut"]
    assert len(result.facts[0].text) <= 200 and result.facts[0].score == 0.9
    assert result.decisions == [] and result.next_steps == []


def test_what_cannot_be_repaired_safely_stays_a_failure() -> None:
    with pytest.raises(ExtractionError) as info:
        parse_result('{"facts": [{"text": "cut off', [])
    assert info.value.error_class == "invalid_json"
    with pytest.raises(ExtractionError) as info:
        parse_result({"facts": [{"text": "x", "subject": "", "source_turns": [], "confidence": "sure"}]}, [])
    assert info.value.error_class == "schema_violation"
