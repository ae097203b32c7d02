"""Files of turns as `memlane publish` reads them: JSONL (one ConversationTurn per line) or LoCoMo conversations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from schemas.errors import ValidationError
from schemas.events import ConversationTurn
from streams.ingest.jsonl import read_turns_jsonl
from streams.ingest.locomo import locomo_turns


class InputFormat(StrEnum):
    JSONL = "jsonl"
    LOCOMO = "locomo"


@dataclass(frozen=True)
class TaggedTurn:
    """A turn and where it stands in its file (`line 12`, `conv-26 D3:4`), for messages about it."""

    tag: str
    turn: ConversationTurn


def load_tagged(
    path: Path, fmt: InputFormat, *, tenant_id: str, conversations: list[str] | None = None
) -> tuple[list[TaggedTurn], list[ValidationError]]:
    """All turns of a file with their place in it, or the errors that reject it (every invalid line, by number)."""
    if not path.exists():
        raise ValidationError(f"{path}: no such file")
    turns: list[TaggedTurn] = []
    errors: list[ValidationError] = []
    if fmt is InputFormat.LOCOMO:
        turns = [TaggedTurn(f"{i.sample_id} {i.dia_id}", i.turn) for i in locomo_turns(path, tenant_id=tenant_id)]
    else:
        for parsed in read_turns_jsonl(path, tenant_id=tenant_id):
            if parsed.error is not None:
                errors.append(parsed.error)
            elif parsed.turn is not None:
                turns.append(TaggedTurn(f"line {parsed.line}", parsed.turn))
    if conversations:
        wanted = set(conversations)
        turns = [tagged for tagged in turns if tagged.turn.conversation_id in wanted]
    return turns, errors


def load_turns(
    path: Path, fmt: InputFormat, *, tenant_id: str, conversations: list[str] | None = None
) -> tuple[list[ConversationTurn], list[ValidationError]]:
    """All turns of a file, or the errors that reject it (every invalid line, by number)."""
    tagged, errors = load_tagged(path, fmt, tenant_id=tenant_id, conversations=conversations)
    return [item.turn for item in tagged], errors


__all__ = ["InputFormat", "TaggedTurn", "load_tagged", "load_turns"]
