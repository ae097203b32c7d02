"""Files of turns as `memlane publish` reads them: JSONL (one ConversationTurn per line) or LoCoMo conversations."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from schemas.errors import ValidationError
from schemas.events import ConversationTurn
from streams.ingest.jsonl import read_turns_jsonl
from streams.ingest.locomo import locomo_turns


class InputFormat(StrEnum):
    JSONL = "jsonl"
    LOCOMO = "locomo"


def load_turns(
    path: Path, fmt: InputFormat, *, tenant_id: str, conversations: list[str] | None = None
) -> tuple[list[ConversationTurn], list[ValidationError]]:
    """All turns of a file, or the errors that reject it (every invalid line, by number)."""
    if not path.exists():
        raise ValidationError(f"{path}: no such file")
    turns: list[ConversationTurn] = []
    errors: list[ValidationError] = []
    if fmt is InputFormat.LOCOMO:
        turns = [item.turn for item in locomo_turns(path, tenant_id=tenant_id)]
    else:
        for parsed in read_turns_jsonl(path, tenant_id=tenant_id):
            if parsed.error is not None:
                errors.append(parsed.error)
            elif parsed.turn is not None:
                turns.append(parsed.turn)
    if conversations:
        wanted = set(conversations)
        turns = [turn for turn in turns if turn.conversation_id in wanted]
    return turns, errors


__all__ = ["InputFormat", "load_turns"]
