"""The structured output every LLM extractor asks for, its JSON schema, its validation and its memories.

`ExtractionResult` (facts, decisions, next steps, errors; each item with text, subject, confidence and the
source turn ids) is the one pydantic model behind Ollama's `format` and Claude's tool `input_schema`
(`result_json_schema()`, references inlined so small models' grammars can use it). `parse_result` validates
a model's answer and raises `invalid_json` or `schema_violation`; `accept` applies the confidence policy and
`to_memories` turns the items into `Memory` events with deterministic ids.

Confidence policy: a result whose mean item confidence is below `min_confidence` fails as
`low_confidence`; otherwise single items below it are dropped (and reported as warnings).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from processors.extraction.contract import ErrorClass, extraction_failure
from processors.extraction.memory_ids import memory_id
from schemas.events import ExtractionRequest, Memory, MemoryKind, Role, WindowTurn

KIND_FIELDS: tuple[tuple[str, MemoryKind], ...] = (
    ("facts", MemoryKind.FACT),
    ("decisions", MemoryKind.DECISION),
    ("next_steps", MemoryKind.NEXT_STEP),
    ("errors", MemoryKind.ERROR),
)
KIND_PRIORITY: dict[MemoryKind, float] = {
    MemoryKind.ERROR: 1.0,
    MemoryKind.DECISION: 0.9,
    MemoryKind.NEXT_STEP: 0.8,
    MemoryKind.FACT: 0.5,
    MemoryKind.SUMMARY: 0.5,
}


class ExtractedItem(BaseModel):
    """One thing worth remembering, as the model states it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=1000, description="one self-contained statement")
    subject: str = Field(max_length=200, description="who or what it is about; empty when unclear")
    confidence: float = Field(ge=0.0, le=1.0, description="how sure the statement is right, 0 to 1")
    source_turn_ids: list[str] = Field(description="ids of the turns that support it")


class ExtractionResult(BaseModel):
    """Everything worth remembering from one window of turns."""

    model_config = ConfigDict(extra="forbid")

    facts: list[ExtractedItem] = Field(description="durable facts about the user, their work or world")
    decisions: list[ExtractedItem] = Field(description="decisions made, with what was chosen")
    next_steps: list[ExtractedItem] = Field(description="agreed next steps and open tasks")
    errors: list[ExtractedItem] = Field(description="errors met, with their cause or fix when known")

    def items(self) -> Iterator[tuple[MemoryKind, ExtractedItem]]:
        for field_name, kind in KIND_FIELDS:
            for item in getattr(self, field_name):
                yield kind, item

    def mean_confidence(self) -> float | None:
        """Mean confidence over every item; None for an empty result."""
        values = [item.confidence for _, item in self.items()]
        return sum(values) / len(values) if values else None


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key not in ("$defs", "title")}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


@cache
def _schema_text() -> str:
    schema = ExtractionResult.model_json_schema()
    return json.dumps(_inline(schema, schema.get("$defs", {})), sort_keys=True)


def result_json_schema() -> dict[str, Any]:
    """The JSON schema of `ExtractionResult`, without `$ref`s or titles (a fresh copy on every call)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def parse_result(payload: str | Mapping[str, Any]) -> ExtractionResult:
    """Validate a model's answer (JSON text or an already decoded object)."""
    document: Any = payload
    if isinstance(payload, str):
        try:
            document = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise extraction_failure(
                f"model answer is not JSON ({exc.msg} at char {exc.pos}): {payload[:200]!r}",
                error_class=ErrorClass.INVALID_JSON,
            ) from exc
    try:
        return ExtractionResult.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise extraction_failure(
            f"model answer violates the result schema ({exc.error_count()} errors; {where}: {first['msg']})",
            error_class=ErrorClass.SCHEMA_VIOLATION,
        ) from exc


def _source_turns(request: ExtractionRequest, claimed: Sequence[str]) -> tuple[WindowTurn, ...]:
    """The window turns the claimed ids name; bare turn indexes are mapped to their turns, unknown ids dropped."""
    by_id = {turn.event_id: turn for turn in request.turns}
    by_index = {str(turn.turn_index): turn for turn in request.turns}
    found: dict[str, WindowTurn] = {}
    for raw in claimed:
        ref = str(raw).strip().lstrip("#")
        turn = by_id.get(ref) or by_index.get(ref)
        if turn is not None:
            found.setdefault(turn.event_id, turn)
    return tuple(found.values())


def attribute(request: ExtractionRequest, sources: Sequence[WindowTurn], subject: str = "") -> tuple[str, ...]:
    """The users a memory belongs to, the first being its owner.

    The users of its source turns; without sources, the window's only user, or the user whose speaker name
    the subject gives; failing all, the request's user (the conversation's first).
    """
    users = tuple(dict.fromkeys(turn.user_id or request.user_id for turn in sources))
    if users:
        return users
    people = {(turn.user_id or request.user_id): turn.speaker for turn in request.turns if turn.role is Role.USER}
    if len(people) == 1:
        return (next(iter(people)),)
    named = [
        user for user, speaker in people.items() if speaker and subject and speaker.casefold() == subject.casefold()
    ]
    return (named[0],) if len(named) == 1 else (request.user_id,)


def to_memories(
    result: ExtractionResult, request: ExtractionRequest, *, tags: Sequence[str] = ()
) -> tuple[Memory, ...]:
    """The result's items as memories; items with the same id are merged (highest confidence wins)."""
    fallback_time = max((turn.event_time for turn in request.turns), default=request.created_at)
    merged: dict[str, Memory] = {}
    for kind, item in result.items():
        sources = _source_turns(request, item.source_turn_ids)
        users = attribute(request, sources, item.subject)
        mid = memory_id(request.tenant_id, users[0], kind.value, item.text)
        memory = Memory(
            memory_id=mid,
            kind=kind,
            text=item.text,
            subject=item.subject or None,
            user_id=users[0],
            user_ids=users,
            confidence=item.confidence,
            priority=KIND_PRIORITY[kind],
            source_turn_ids=tuple(turn.event_id for turn in sources),
            source_turn_indexes=tuple(turn.turn_index for turn in sources),
            tags=tuple(tags),
            event_time=max((turn.event_time for turn in sources), default=fallback_time),
        )
        previous = merged.get(mid)
        if previous is None or memory.confidence > previous.confidence:
            merged[mid] = memory
    return tuple(merged.values())


def accept(
    result: ExtractionResult,
    request: ExtractionRequest,
    *,
    min_confidence: float,
    max_items_per_kind: int,
    tags: Sequence[str] = (),
) -> tuple[tuple[Memory, ...], tuple[str, ...]]:
    """Apply the confidence policy; the memories kept and warnings about items left out."""
    mean = result.mean_confidence()
    if mean is not None and mean < min_confidence:
        raise extraction_failure(
            f"mean confidence {mean:.2f} is below {min_confidence:.2f}", error_class=ErrorClass.LOW_CONFIDENCE
        )
    warnings: list[str] = []
    kept: dict[str, list[ExtractedItem]] = {}
    for field_name, _ in KIND_FIELDS:
        items: list[ExtractedItem] = getattr(result, field_name)
        confident = [item for item in items if item.confidence >= min_confidence]
        if len(confident) < len(items):
            warnings.append(f"dropped {len(items) - len(confident)} {field_name} below {min_confidence:.2f}")
        if len(confident) > max_items_per_kind:
            warnings.append(f"kept the first {max_items_per_kind} of {len(confident)} {field_name}")
        kept[field_name] = confident[:max_items_per_kind]
    return to_memories(ExtractionResult.model_validate(kept), request, tags=tags), tuple(warnings)


__all__ = [
    "KIND_FIELDS",
    "KIND_PRIORITY",
    "ExtractedItem",
    "ExtractionResult",
    "accept",
    "attribute",
    "parse_result",
    "result_json_schema",
    "to_memories",
]
