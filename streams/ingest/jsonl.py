"""JSONL turn files: one ConversationTurn per line, validated before anything is sent.

Required per line: conversation_id, turn_index, user_id, role, content (or content_ref), event_time.
Filled in when absent: event_id (derived from conversation and turn index), tenant_id and platform
(from the caller), token_count (estimated). Errors name the line number and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from processors.tokens import estimate_tokens
from schemas.errors import ValidationError
from schemas.events import ConversationTurn
from streams.ingest.defaults import derived_event_id


@dataclass(frozen=True)
class ParsedLine:
    """One line of a JSONL file: the turn, or the error that rejects it."""

    line: int
    turn: ConversationTurn | None
    error: ValidationError | None


_DERIVED = {("event_id",), ("token_count",)}
REQUIRED = ("conversation_id", "turn_index", "user_id", "role", "event_time")
"""Fields a line must give (tenant_id, platform, event_id and token_count are filled in when absent)."""
MAX_REPORTED = 8


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(line)"


def parse_turn_line(text: str, line: int, *, tenant_id: str, platform: str) -> ConversationTurn:
    """Parse one JSONL line into a validated turn, or raise ValidationError naming line and field."""
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"line {line}: not valid JSON ({exc.msg} at column {exc.colno})", line=line) from exc
    if not isinstance(raw, dict):
        raise ValidationError(f"line {line}: expected a JSON object, got {type(raw).__name__}", line=line)
    raw.setdefault("tenant_id", tenant_id)
    raw.setdefault("platform", platform)
    if "conversation_id" in raw and "turn_index" in raw and "event_id" not in raw:
        try:
            raw["event_id"] = derived_event_id(
                str(raw["tenant_id"]), str(raw["conversation_id"]), int(raw["turn_index"])
            )
        except (TypeError, ValueError):
            pass  # turn_index invalid: validation below names it
    if "token_count" not in raw and isinstance(raw.get("content"), str):
        raw["token_count"] = estimate_tokens(raw["content"])
    problems = [(name, "Field required") for name in REQUIRED if name not in raw]
    if raw.get("content") is None and raw.get("content_ref") is None:
        problems.append(("content", "a turn needs content or content_ref"))
    if problems:
        unknown = sorted(set(raw) - set(ConversationTurn.model_fields))
        hint = f"; unknown field(s) {', '.join(unknown)} (the format: docs/turns-jsonl.md)" if unknown else ""
        listed = "; ".join(f"field '{name}': {why}" for name, why in problems)
        raise ValidationError(f"line {line}: {listed}{hint}", field=problems[0][0], line=line)
    try:
        return ConversationTurn.model_validate(raw)
    except PydanticValidationError as exc:
        # fields memlane derives (event_id, token_count) fail only because another field did: name the others
        errors = [e for e in exc.errors() if e["loc"][:1] not in _DERIVED] or exc.errors()
        parts = [f"field '{_field_name(e['loc'])}': {e['msg']}" for e in errors[:MAX_REPORTED]]
        more = f" (and {len(errors) - MAX_REPORTED} more)" if len(errors) > MAX_REPORTED else ""
        field = _field_name(errors[0]["loc"])
        raise ValidationError(f"line {line}: {'; '.join(parts)}{more}", field=field, line=line) from exc


def read_turns_jsonl(path: Path, *, tenant_id: str, platform: str = "jsonl") -> Iterator[ParsedLine]:
    """Every non-blank line of `path`, parsed; invalid lines come back with their error."""
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield ParsedLine(number, parse_turn_line(text, number, tenant_id=tenant_id, platform=platform), None)
            except ValidationError as error:
                yield ParsedLine(number, None, error)


__all__ = ["ParsedLine", "parse_turn_line", "read_turns_jsonl"]
