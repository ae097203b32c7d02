"""Safe repairs of a model's answer before it is judged, each one named and counted.

Small local models (and large ones on a bad day) wrap good answers in things a parser refuses: a
`<think>...</think>` block, a Markdown code fence, a sentence before or after the JSON object; models
without a grammar (Claude, or Ollama without `format`) give numeric confidences instead of a level, text
longer than the schema allows, or leave out an empty list. These are repaired here, and only these:
nothing that would change what the model stated. A cited turn that is not in the window is dropped where
the answer is mapped to memories (`result.to_memories`) and counted as `invalid_turn_index`.

    think_block        <think>...</think> (or an unclosed <think> before the JSON) removed
    code_fence         ```json ... ``` around the object removed
    surrounding_text   text before the first "{" or after the last "}" removed
    confidence_number  a number for a confidence: 0-1 as is, 1-100 as percent, mapped to its level
    confidence_clamped a number outside 0-100 (e.g. 4876): clamped, then mapped
    text_cut           a text or subject over its maximum length cut at a word boundary
    missing_list       a kind list left out: read as empty
    invalid_turn_index a cited turn that is not in the window: dropped from the item's sources

A `Repairs` list travels with one answer; the extractor puts it on the outcome so the worker can count
repairs per model (`memlane_extraction_repairs_total`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Repair(StrEnum):
    THINK_BLOCK = "think_block"
    CODE_FENCE = "code_fence"
    SURROUNDING_TEXT = "surrounding_text"
    CONFIDENCE_NUMBER = "confidence_number"
    CONFIDENCE_CLAMPED = "confidence_clamped"
    TEXT_CUT = "text_cut"
    MISSING_LIST = "missing_list"
    INVALID_TURN_INDEX = "invalid_turn_index"
    UNSUPPORTED_SOURCE = "unsupported_source"


Repairs = list[str]
"""The repairs made to one answer, in order (a repair made twice is listed twice)."""

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"^\s*<think>[^{]*", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def clean_text(payload: str, repairs: Repairs) -> str:
    """The JSON object inside a model's text answer: think blocks, fences and surrounding text removed."""
    text = payload
    if _THINK.search(text):
        text = _THINK.sub("", text)
        repairs.append(Repair.THINK_BLOCK)
    elif _OPEN_THINK.match(text):
        text = _OPEN_THINK.sub("", text, count=1)
        repairs.append(Repair.THINK_BLOCK)
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
        repairs.append(Repair.CODE_FENCE)
    stripped = text.strip()
    start, end = stripped.find("{"), stripped.rfind("}")
    if (start > 0 or (start >= 0 and end != len(stripped) - 1)) and end > start:
        stripped = stripped[start : end + 1]
        repairs.append(Repair.SURROUNDING_TEXT)
    return stripped


def confidence_level(value: float, repairs: Repairs) -> str:
    """The level of a numeric confidence (0-1 as a fraction, above 1 as a percent, clamped to 0-100)."""
    repairs.append(Repair.CONFIDENCE_NUMBER)
    if value < 0 or value > 100:
        repairs.append(Repair.CONFIDENCE_CLAMPED)
        value = min(100.0, max(0.0, value))
    fraction = value if value <= 1 else value / 100
    if fraction >= 0.85:
        return "high"
    return "medium" if fraction >= 0.6 else "low"


def _cut(text: str, limit: int, repairs: Repairs) -> str:
    if len(text) <= limit:
        return text
    repairs.append(Repair.TEXT_CUT)
    cut = text[:limit].rsplit(" ", 1)[0].rstrip()
    return cut or text[:limit]


def repair_document(document: Any, *, lists: tuple[str, ...], limits: Mapping[str, int], repairs: Repairs) -> Any:
    """`document` with the safe repairs applied to its kind `lists` and their items (others left as they are)."""
    if not isinstance(document, dict):
        return document
    fixed: dict[str, Any] = dict(document)
    for name in lists:
        if name not in fixed:
            fixed[name] = []
            repairs.append(Repair.MISSING_LIST)
            continue
        items = fixed[name]
        if isinstance(items, list):
            fixed[name] = [_repair_item(item, limits, repairs) for item in items]
    return fixed


def _repair_item(item: Any, limits: Mapping[str, int], repairs: Repairs) -> Any:
    if not isinstance(item, dict):
        return item
    fixed = dict(item)
    confidence = fixed.get("confidence")
    if isinstance(confidence, int | float) and not isinstance(confidence, bool):
        fixed["confidence"] = confidence_level(float(confidence), repairs)
    for field, limit in limits.items():
        value = fixed.get(field)
        if isinstance(value, str):
            fixed[field] = _cut(value.strip(), limit, repairs)
    return fixed


__all__ = ["Repair", "Repairs", "clean_text", "confidence_level", "repair_document"]
