"""The structured output every LLM extractor asks for, its JSON schema, its validation and its memories.

`ExtractionResult` (facts, decisions, next steps, errors; each item with text, subject, the numbers of its
source turns and a confidence level) is the one pydantic model behind Ollama's `format` and Claude's tool
`input_schema` (`result_json_schema()`, references inlined so small models' grammars can use it). Every
constraint in it is one a JSON-schema grammar enforces: string lengths, list lengths, an enum for the
confidence (grammars do not enforce number ranges: models answered 2, 5 or 4876 for a 0-1 number), and
for one request the cited turn numbers bounded to its window. `parse_result` applies the safe repairs of
`processors.extraction.repair`, validates, and raises `invalid_json` or `schema_violation`; `accept` applies
the confidence policy and `to_memories` turns the items into `Memory` events with deterministic ids,
each attributed to its source turns and their speakers.

Confidence policy: a result whose mean item score is below `min_confidence` fails as `low_confidence`;
otherwise single items below it are dropped (and reported as warnings). Levels score high 0.9, medium 0.7,
low 0.4.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from functools import cache
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from processors.extraction.contract import ErrorClass, extraction_failure
from processors.extraction.grounding import regrounded
from processors.extraction.memory_ids import memory_id
from processors.extraction.repair import Repair, Repairs, clean_text, repair_document
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


class ConfidenceLevel(StrEnum):
    """How sure the model is, as a level: a grammar enforces an enum, not a number range."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


CONFIDENCE_SCORES: dict[ConfidenceLevel, float] = {
    ConfidenceLevel.HIGH: 0.9,
    ConfidenceLevel.MEDIUM: 0.7,
    ConfidenceLevel.LOW: 0.4,
}
"""The `Memory.confidence` of each level."""

MAX_TEXT_CHARS = 200
MAX_SUBJECT_CHARS = 48
MAX_SOURCES = 4
LIMITS = {"text": MAX_TEXT_CHARS, "subject": MAX_SUBJECT_CHARS}


class ExtractedItem(BaseModel):
    """One thing worth remembering, as the model states it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="one self-contained statement")
    subject: str = Field(max_length=MAX_SUBJECT_CHARS, description="who or what it is about; empty when unclear")
    source_turns: list[int] = Field(max_length=MAX_SOURCES, description="numbers of the turns that say it")
    confidence: ConfidenceLevel = Field(description="how sure the statement was said: high, medium or low")

    @property
    def score(self) -> float:
        """The confidence as `Memory.confidence` (0 to 1)."""
        return CONFIDENCE_SCORES[self.confidence]


class ExtractionResult(BaseModel):
    """Everything worth remembering from one window of turns."""

    model_config = ConfigDict(extra="forbid")

    facts: list[ExtractedItem] = Field(description="durable facts about the people, their work or world")
    decisions: list[ExtractedItem] = Field(description="decisions made, with what was chosen")
    next_steps: list[ExtractedItem] = Field(description="agreed next steps and open tasks")
    errors: list[ExtractedItem] = Field(description="errors met, with their cause or fix when known")

    def items(self) -> Iterator[tuple[MemoryKind, ExtractedItem]]:
        for field_name, kind in KIND_FIELDS:
            for item in getattr(self, field_name):
                yield kind, item

    def mean_confidence(self) -> float | None:
        """Mean confidence score over every item; None for an empty result."""
        values = [item.score for _, item in self.items()]
        return sum(values) / len(values) if values else None


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return _inline({**defs[ref.removeprefix("#/$defs/")], **siblings}, defs)
        return {key: _inline(value, defs) for key, value in node.items() if key not in ("$defs", "title")}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


@cache
def _schema_text() -> str:
    schema = ExtractionResult.model_json_schema()
    return json.dumps(_inline(schema, schema.get("$defs", {})))  # property order kept: it is the answer's order


def result_json_schema(request: ExtractionRequest | None = None, *, max_items: int | None = None) -> dict[str, Any]:
    """The JSON schema of `ExtractionResult` without `$ref`s or titles (a fresh copy on every call).

    For a `request`, cited turns are bounded to the window's turn numbers; `max_items` bounds each list. Both
    are constraints a grammar enforces, so a small model cannot cite turn 4876 or write lists without end.
    """
    schema: dict[str, Any] = json.loads(_schema_text())
    for field_name, _ in KIND_FIELDS:
        listing = schema["properties"][field_name]
        if max_items is not None:
            listing["maxItems"] = max_items
        sources = listing["items"]["properties"]["source_turns"]["items"]
        sources["minimum"] = request.first_turn_index if request is not None else 0
        if request is not None:
            sources["maximum"] = request.last_turn_index
    return schema


def parse_result(payload: str | Mapping[str, Any], repairs: Repairs | None = None) -> ExtractionResult:
    """Validate a model's answer (JSON text or an already decoded object), after the safe repairs
    (`processors.extraction.repair`), which are appended to `repairs`."""
    made: Repairs = repairs if repairs is not None else []
    document: Any = payload
    if isinstance(payload, str):
        text = clean_text(payload, made)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise extraction_failure(
                f"model answer is not JSON ({exc.msg} at char {exc.pos}): {payload[:200]!r}",
                error_class=ErrorClass.INVALID_JSON,
            ) from exc
    document = repair_document(document, lists=tuple(name for name, _ in KIND_FIELDS), limits=LIMITS, repairs=made)
    try:
        return ExtractionResult.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise extraction_failure(
            f"model answer violates the result schema ({exc.error_count()} errors; {where}: {first['msg']})",
            error_class=ErrorClass.SCHEMA_VIOLATION,
        ) from exc


def _source_turns(request: ExtractionRequest, claimed: Sequence[int], repairs: Repairs) -> tuple[WindowTurn, ...]:
    """The window turns the cited turn numbers name, in order; a number not in the window is dropped (counted)."""
    by_index = {turn.turn_index: turn for turn in request.turns}
    found: dict[str, WindowTurn] = {}
    for index in claimed:
        turn = by_index.get(index)
        if turn is None:
            repairs.append(Repair.INVALID_TURN_INDEX)
            continue
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
    result: ExtractionResult, request: ExtractionRequest, *, tags: Sequence[str] = (), repairs: Repairs | None = None
) -> tuple[Memory, ...]:
    """The result's items as memories; items with the same id are merged (highest confidence wins).

    Each memory names its source turns (ids and turn indexes) and belongs to their users (`attribute`); a
    citation none of whose turns contains the memory's words moves to the turn that does (`grounding`)."""
    made: Repairs = repairs if repairs is not None else []
    fallback_time = max((turn.event_time for turn in request.turns), default=request.created_at)
    merged: dict[str, Memory] = {}
    for kind, item in result.items():
        sources, moved = regrounded(request, item.text, _source_turns(request, item.source_turns, made))
        if moved:
            made.append(Repair.UNSUPPORTED_SOURCE)
        users = attribute(request, sources, item.subject)
        mid = memory_id(request.tenant_id, users[0], kind.value, item.text)
        memory = Memory(
            memory_id=mid,
            kind=kind,
            text=item.text,
            subject=item.subject or None,
            user_id=users[0],
            user_ids=users,
            confidence=item.score,
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
    repairs: Repairs | None = None,
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
        confident = [item for item in items if item.score >= min_confidence]
        if len(confident) < len(items):
            warnings.append(f"dropped {len(items) - len(confident)} {field_name} below {min_confidence:.2f}")
        if len(confident) > max_items_per_kind:
            warnings.append(f"kept the first {max_items_per_kind} of {len(confident)} {field_name}")
        kept[field_name] = confident[:max_items_per_kind]
    return to_memories(ExtractionResult.model_validate(kept), request, tags=tags, repairs=repairs), tuple(warnings)


__all__ = [
    "CONFIDENCE_SCORES",
    "KIND_FIELDS",
    "KIND_PRIORITY",
    "MAX_SOURCES",
    "MAX_SUBJECT_CHARS",
    "MAX_TEXT_CHARS",
    "ConfidenceLevel",
    "ExtractedItem",
    "ExtractionResult",
    "accept",
    "attribute",
    "parse_result",
    "result_json_schema",
    "to_memories",
]
