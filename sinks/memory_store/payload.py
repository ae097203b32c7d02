"""Point ids and payloads of stored memories: built from a `MemoryBatch`, merged on near-duplicates.

Point ids are deterministic: a memory id that is a UUID is the point id as is; any other id maps to
`uuid5(MEMORY_NAMESPACE, memory_id)`. Upserting the same memory twice therefore writes the same point.
Should a UUID memory id already be taken by another tenant's point, the memory is stored under
`uuid5(MEMORY_NAMESPACE, "tenant/memory_id")` instead, so tenants never overwrite each other.

Payloads are kept small (they are a third of a memory's bytes on disk): datetimes are ISO 8601 UTC
strings (what Qdrant's datetime index reads), `None` fields and empty lists are left out, and
`memory_id` is stored only when it differs from the point id. `merged_ids` lists the memory ids
merged into the point by near-duplicate updates (a replay of one of them is then a no-op).

`lexical` is what BM25 scores (the engine's full-text index is on it, not on `text`): the memory's text,
then its `context` (the turns just before its source turns, nearest last), cut to `context_chars`
characters from the far end. A memory without context has `lexical` equal to its text.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from schemas.events import Memory, MemoryBatch

MEMORY_NAMESPACE = uuid.UUID("6f1c3f5e-52a4-4b5e-9a57-3f0c8d7a6b21")

FILTER_FIELDS: dict[str, str] = {
    "tenant_id": "keyword",
    "user_id": "keyword",
    "agent_id": "keyword",
    "conversation_id": "keyword",
    "kind": "keyword",
    "tags": "keyword",
    "merged_ids": "keyword",
    "event_time": "datetime",
    "lexical": "text",
}
"""Payload fields with an index, and the index type. `tenant_id` is also marked as the tenant key."""


def point_id(memory_id: str) -> str:
    """The Qdrant point id of `memory_id` (canonical UUID text)."""
    try:
        return str(uuid.UUID(memory_id))
    except ValueError:
        return str(uuid.uuid5(MEMORY_NAMESPACE, memory_id))


def scoped_point_id(tenant_id: str, memory_id: str) -> str:
    """The fallback point id of `memory_id` when its plain id belongs to another tenant."""
    return str(uuid.uuid5(MEMORY_NAMESPACE, f"{tenant_id}/{memory_id}"))


def memory_id_of(point: str, payload: dict[str, Any]) -> str:
    """The memory id of a stored point (the point id unless the payload names another)."""
    return str(payload.get("memory_id", point))


def iso(value: datetime) -> str:
    """`value` as an ISO 8601 UTC string (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def owner(batch: MemoryBatch, memory: Memory) -> str:
    """Whose memory it is: its own user, or (batches written before memories carried one) the batch's."""
    return memory.user_id or batch.user_id


def users_field(batch: MemoryBatch, memory: Memory) -> str | list[str]:
    """The `user_id` payload: the owner, or every user of a memory drawn from several (a filter on one of them
    matches: a keyword match on an array field matches any element)."""
    users = list(dict.fromkeys((owner(batch, memory), *memory.user_ids)))
    return users[0] if len(users) == 1 else users


DEFAULT_CONTEXT_CHARS = 1200


def lexical_text(memory: Memory, context_chars: int = DEFAULT_CONTEXT_CHARS) -> str:
    """The BM25 field of `memory`: its text, then at most `context_chars` of its context (the nearest end)."""
    context = (memory.context or "").strip()
    if not context or context_chars <= 0:
        return memory.text
    if len(context) > context_chars:
        context = context[-context_chars:].split(maxsplit=1)[-1]
    return f"{memory.text}\n{context}"


def new_payload(
    batch: MemoryBatch,
    memory: Memory,
    tags: tuple[str, ...],
    point: str,
    *,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
) -> dict[str, Any]:
    """The payload of `memory` stored as the new point `point`."""
    payload: dict[str, Any] = {
        "tenant_id": batch.tenant_id,
        "user_id": users_field(batch, memory),
        "conversation_id": batch.conversation_id,
        "version": 1,
    }
    if point != memory.memory_id:
        payload["memory_id"] = memory.memory_id
    if batch.agent_id is not None:
        payload["agent_id"] = batch.agent_id
    payload.update(_version_fields(batch, memory, tags, context_chars))
    return payload


def _version_fields(
    batch: MemoryBatch, memory: Memory, tags: tuple[str, ...], context_chars: int = DEFAULT_CONTEXT_CHARS
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": memory.kind.value,
        "text": memory.text,
        "lexical": lexical_text(memory, context_chars),
        "priority": memory.priority,
        "confidence": memory.confidence,
        "tags": list(tags),
        "event_time": iso(memory.event_time),
        "extractor": batch.extractor,
        "extractor_version": batch.extractor_version,
        "batch_id": batch.batch_id,
        "lineage": batch.lineage.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
    }
    if memory.subject is not None:
        fields["subject"] = memory.subject
    if batch.model is not None:
        fields["model"] = batch.model
    if memory.source_turn_ids:
        fields["source_turn_ids"] = list(memory.source_turn_ids)
    if memory.source_turn_indexes:
        fields["source_turn_indexes"] = list(memory.source_turn_indexes)
    if memory.summary_level is not None:
        fields["summary_level"] = memory.summary_level
    return fields


def merged_payload(
    point: str,
    existing: dict[str, Any],
    batch: MemoryBatch,
    memory: Memory,
    *,
    tags: tuple[str, ...],
    now: datetime,
    max_history: int,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
) -> dict[str, Any]:
    """`existing` updated to `memory`'s text; the version it replaces goes to the front of `history`. The
    model's labels of the old text are dropped (from `tags` too; the heuristic tags are merged): the new
    text is labelled on its own."""
    merged = list(existing.get("merged_ids", ()))
    previous = {
        "version": int(existing.get("version", 1)),
        "memory_id": merged[-1] if merged else memory_id_of(point, existing),
        "text": existing["text"],
        "kind": existing["kind"],
        "event_time": existing["event_time"],
        "extractor": existing.get("extractor", ""),
        "extractor_version": existing.get("extractor_version", ""),
        "batch_id": existing.get("batch_id", ""),
        "replaced_at": iso(now),
        "lineage": existing.get("lineage"),
    }
    history = [previous, *existing.get("history", [])][:max_history]
    merged_tags = tuple(sorted({*existing.get("heuristic_tags", existing.get("tags", ())), *tags}))
    dropped = ("subject", "model", "source_turn_ids", "source_turn_indexes", "labels", "labels_model", "heuristic_tags")
    payload = {key: value for key, value in existing.items() if key not in dropped}
    payload.update(_version_fields(batch, memory, merged_tags, context_chars))
    payload["version"] = previous["version"] + 1
    payload["history"] = history
    sources = [*existing.get("source_turn_indexes", ()), *memory.source_turn_indexes]
    if sources:  # lineage keeps every turn a merged memory came from, not only its latest version's
        payload["source_turn_indexes"] = sorted({int(index) for index in sources})
    payload["merged_ids"] = [*merged, memory.memory_id]
    return payload


def superseding_payload(
    point: str,
    existing: dict[str, Any],
    batch: MemoryBatch,
    memory: Memory,
    *,
    tags: tuple[str, ...],
    now: datetime,
    max_history: int,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
) -> dict[str, Any]:
    """A newer summary of the same range over `existing` (same id): the old text goes to `history`, the range
    and source turns are the new summary's, no merged id is added (the next version is recognised by id)."""
    payload = merged_payload(
        point,
        existing,
        batch,
        memory,
        tags=tags,
        now=now,
        max_history=max_history,
        context_chars=context_chars,
    )
    payload["tags"] = list(tags)
    merged = list(existing.get("merged_ids", ()))
    if merged:
        payload["merged_ids"] = merged
    else:
        payload.pop("merged_ids", None)
    payload.pop("source_turn_indexes", None)
    if memory.source_turn_indexes:
        payload["source_turn_indexes"] = list(memory.source_turn_indexes)
    return payload


__all__ = [
    "DEFAULT_CONTEXT_CHARS",
    "FILTER_FIELDS",
    "MEMORY_NAMESPACE",
    "iso",
    "lexical_text",
    "memory_id_of",
    "merged_payload",
    "new_payload",
    "owner",
    "point_id",
    "scoped_point_id",
    "superseding_payload",
]
