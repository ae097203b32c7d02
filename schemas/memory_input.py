"""The direct-write contract: one memory a caller hands to memlane instead of having it extracted.

`MemoryInput` is what `POST /v1/memories`, `POST /v1/memories:batch` and `memlane import` accept, item by
item (a bad item is named by its index and never sinks the others). It is not an event: the write path
turns valid inputs into `MemoryBatch` events (`processors.memory_write`) and publishes them to the memories
topic, so ids, idempotency and every sink behave exactly as for extracted memories. The tenant is never
part of an input: it is the API key's (HTTP) or the configured one (`memlane import`).

`MemoryInput.from_mem0(record)` maps one memory of a Mem0 export (`memory.get_all()` as JSON lines):

    memory      -> text               user_id   -> user_id          agent_id -> agent_id
    created_at  -> event_time         categories -> tags            metadata -> tags "key=value"
    run_id      -> conversation_id    id / hash / updated_at: not kept (memlane derives its own id)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.events import EARLIEST, LATEST, MAX_FUTURE_EVENT_S, Id, MemoryKind, utc_now

MAX_TEXT_CHARS = 4000
MAX_TAGS = 32
MAX_TAG_CHARS = 128
DEFAULT_CONVERSATION = "direct-write"
"""The conversation id of written memories that name none."""


class MemoryInput(BaseModel):
    """One memory to write: whose it is, its text and kind, and optional context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    user_id: Id
    kind: MemoryKind = MemoryKind.FACT
    agent_id: Id | None = None
    conversation_id: Id = DEFAULT_CONVERSATION
    tags: tuple[str, ...] = Field(default=(), max_length=MAX_TAGS)
    event_time: datetime = Field(default_factory=utc_now)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    priority: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must contain some non-whitespace text")
        return value

    @field_validator("event_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        if not EARLIEST <= value < LATEST:
            raise ValueError(f"event_time {value.isoformat()} is outside {EARLIEST.year}..{LATEST.year - 1}")
        limit = utc_now() + timedelta(seconds=MAX_FUTURE_EVENT_S)
        if value > limit:  # a far-future memory would win every recency boost
            raise ValueError(
                f"event_time {value.isoformat()} is more than {timedelta(seconds=MAX_FUTURE_EVENT_S)} ahead"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _short_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag.strip() or len(tag) > MAX_TAG_CHARS:
                raise ValueError(f"each tag must be 1-{MAX_TAG_CHARS} characters, got {tag[:40]!r}")
        return tuple(dict.fromkeys(value))

    @classmethod
    def from_mem0(cls, record: dict[str, Any]) -> MemoryInput:
        """A Mem0 export record as a memlane input (the mapping is in this module's docstring)."""
        if "memory" not in record:
            return cls.model_validate(record)
        tags = [str(c) for c in record.get("categories") or ()]
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        tags += [f"{key}={value}" for key, value in sorted(metadata.items()) if value is not None]
        fields: dict[str, Any] = {"text": record["memory"], "user_id": record.get("user_id"), "tags": tags}
        for source, target in (("agent_id", "agent_id"), ("run_id", "conversation_id"), ("created_at", "event_time")):
            if record.get(source) is not None:
                fields[target] = record[source]
        return cls.model_validate(fields)


def input_errors(exc: Exception) -> str:
    """One line naming what is wrong with an input (pydantic's field errors joined)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())) or 'item'}: {e.get('msg', '')}" for e in errors()]
        return "; ".join(parts)
    return str(exc)


__all__ = ["DEFAULT_CONVERSATION", "MAX_TEXT_CHARS", "MemoryInput", "input_errors"]
