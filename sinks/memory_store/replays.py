"""The replay check of an upsert: which memories of a batch are stored already, and the point id of the rest.

A memory is a replay when its point exists in the batch's tenant (under its plain or tenant-scoped id) or
its id was merged into another memory (`merged_ids`); a memory id taken by another tenant's point gets the
tenant-scoped point id (`payload.scoped_point_id`). A `summary` memory whose id is stored with another text
is not a replay: it supersedes the stored summary of the same range (a new version of the same point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.events import Memory, MemoryBatch, MemoryKind

from .memory_records import UpsertReport
from .payload import point_id, scoped_point_id
from .query import Match, MatchAny

if TYPE_CHECKING:
    from .memory_store import MemoryStore


def skip_replays(
    store: MemoryStore, batch: MemoryBatch, report: UpsertReport
) -> tuple[list[Memory], dict[str, str], dict[str, dict[str, Any]]]:
    """Memories not stored yet (replays go to `report.unchanged`), the point id each would get, and the stored
    payload of each summary it supersedes (by memory id)."""
    ids = list(dict.fromkeys(memory.memory_id for memory in batch.memories))
    candidates = {mid: point_id(mid) for mid in ids}
    scoped = {mid: scoped_point_id(batch.tenant_id, mid) for mid in ids}
    stored = {f.id: f.payload for f in store._retrieve([*candidates.values(), *scoped.values()])}
    merged = store._scroll([Match("tenant_id", batch.tenant_id), MatchAny("merged_ids", tuple(ids))], len(ids))
    known = {mid for found in merged for mid in found.payload.get("merged_ids", ())}
    fresh: list[Memory] = []
    point_ids: dict[str, str] = {}
    superseded: dict[str, dict[str, Any]] = {}
    for memory in batch.memories:
        mid = memory.memory_id
        own = stored.get(candidates[mid])
        mine = own is not None and own.get("tenant_id") == batch.tenant_id
        current = own if mine else stored.get(scoped[mid])
        summary = memory.kind is MemoryKind.SUMMARY and mid not in point_ids
        if summary and current is not None and current.get("text") != memory.text:
            point_ids[mid] = candidates[mid] if mine else scoped[mid]
            superseded[mid] = dict(current)
            fresh.append(memory)
            continue
        if mid in known or mid in point_ids or mine or scoped[mid] in stored:
            report.unchanged.append(mid)
            continue
        point_ids[mid] = scoped[mid] if own is not None else candidates[mid]
        fresh.append(memory)
    return fresh, point_ids, superseded


__all__ = ["skip_replays"]
