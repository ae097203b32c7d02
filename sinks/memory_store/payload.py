"""Point ids and payloads of stored memories: built from a `MemoryBatch`, merged on near-duplicates.

Point ids are deterministic: a memory id that is a UUID is the point id as is; any other id maps to
`uuid5(MEMORY_NAMESPACE, memory_id)`. Upserting the same memory twice therefore writes the same point.
Payload datetimes are ISO 8601 UTC strings (what Qdrant's datetime index reads); `None` fields are
left out to keep payloads small.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from streams.events.models import Memory, MemoryBatch

MEMORY_NAMESPACE = uuid.UUID("6f1c3f5e-52a4-4b5e-9a57-3f0c8d7a6b21")

FILTER_FIELDS: dict[str, str] = {
    "tenant_id": "keyword",
    "user_id": "keyword",
    "agent_id": "keyword",
    "conversation_id": "keyword",
    "kind": "keyword",
    "tags": "keyword",
    "memory_ids": "keyword",
    "event_time": "datetime",
}
"""Payload fields with an index, and the index type. `tenant_id` is also marked as the tenant key."""


def point_id(memory_id: str) -> str:
    """The Qdrant point id of `memory_id` (canonical UUID text)."""
    try:
        return str(uuid.UUID(memory_id))
    except ValueError:
        return str(uuid.uuid5(MEMORY_NAMESPACE, memory_id))


def iso(value: datetime) -> str:
    """`value` as an ISO 8601 UTC string (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def new_payload(batch: MemoryBatch, memory: Memory, tags: tuple[str, ...], now: datetime) -> dict[str, Any]:
    """The payload of a memory stored as a new point."""
    payload: dict[str, Any] = {
        "memory_id": memory.memory_id,
        "memory_ids": [memory.memory_id],
        "tenant_id": batch.tenant_id,
        "user_id": batch.user_id,
        "conversation_id": batch.conversation_id,
        "created_at": iso(now),
        "version": 1,
        "history": [],
    }
    if batch.agent_id is not None:
        payload["agent_id"] = batch.agent_id
    payload.update(_version_fields(batch, memory, tags, now))
    return payload


def _version_fields(
    batch: MemoryBatch, memory: Memory, tags: tuple[str, ...], now: datetime
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": memory.kind.value,
        "text": memory.text,
        "priority": memory.priority,
        "confidence": memory.confidence,
        "tags": list(tags),
        "event_time": iso(memory.event_time),
        "updated_at": iso(now),
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
    return fields


def merged_payload(
    existing: dict[str, Any],
    batch: MemoryBatch,
    memory: Memory,
    tags: tuple[str, ...],
    now: datetime,
    max_history: int,
) -> dict[str, Any]:
    """`existing` updated to `memory`'s text; the version it replaces goes to the front of `history`."""
    previous = {
        "version": int(existing.get("version", 1)),
        "memory_id": existing["memory_ids"][-1] if existing.get("memory_ids") else existing["memory_id"],
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
    merged_tags = tuple(sorted({*existing.get("tags", ()), *tags}))
    payload = {key: value for key, value in existing.items() if key not in ("subject", "model", "source_turn_ids")}
    payload.update(_version_fields(batch, memory, merged_tags, now))
    payload["version"] = previous["version"] + 1
    payload["history"] = history
    payload["memory_ids"] = [*existing.get("memory_ids", [existing["memory_id"]]), memory.memory_id]
    return payload


__all__ = ["FILTER_FIELDS", "MEMORY_NAMESPACE", "iso", "merged_payload", "new_payload", "point_id"]
