"""Direct memory writes as memory batches: valid `MemoryInput`s of one tenant -> `MemoryBatch` events.

A written memory gets the id an extracted one would (`memory_id(tenant, user, kind, text)`), so writing the
same memory twice, importing a file again, or writing what extraction already found upserts one point. Inputs
are grouped by owner, agent and conversation (a batch is keyed by tenant + user, like extracted ones); a
group's request id and batch id derive from its sorted memory ids and the extractor name ("api" for the HTTP
API, "import" for `memlane import`), so a replayed write produces byte-identical batch ids too. Lineage has
no request to point at: its source is the `WRITE_SOURCE` pseudo-topic at position -1.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from processors.extraction.memory_ids import BATCH_NAMESPACE, batch_id, memory_id
from schemas.events import Lineage, Memory, MemoryBatch
from schemas.memory_input import MemoryInput

WRITE_SOURCE = "memlane.direct-write"
"""The `Lineage.source_topic` of written memories: no Kafka topic, the write API or an import."""
WRITE_EXTRACTORS = ("api", "import")
EXTRACTOR_VERSION = "1"


@dataclass(frozen=True)
class WritePlan:
    """What one write publishes: the batches, and the id of each input in input order."""

    batches: tuple[MemoryBatch, ...]
    memory_ids: tuple[str, ...]


def write_request_id(tenant_id: str, ids: Sequence[str]) -> str:
    """A request id for a group of written memories: the same memories always give the same id."""
    return "write-" + str(uuid.uuid5(BATCH_NAMESPACE, "\x1f".join((tenant_id, *sorted(set(ids))))))


def plan_write(tenant_id: str, inputs: Sequence[MemoryInput], *, extractor: str = "api") -> WritePlan:
    """The memory batches for `inputs` written under `tenant_id` by `extractor` (one of `WRITE_EXTRACTORS`)."""
    if extractor not in WRITE_EXTRACTORS:
        raise ValueError(f"extractor must be one of {WRITE_EXTRACTORS}, got {extractor!r}")
    ids = tuple(memory_id(tenant_id, item.user_id, item.kind.value, item.text) for item in inputs)
    groups: dict[tuple[str, str | None, str], dict[str, Memory]] = {}
    for item, mid in zip(inputs, ids, strict=True):
        memory = Memory(
            memory_id=mid,
            kind=item.kind,
            text=item.text,
            user_id=item.user_id,
            user_ids=(item.user_id,),
            confidence=item.confidence,
            priority=item.priority,
            tags=item.tags,
            event_time=item.event_time,
        )
        groups.setdefault((item.user_id, item.agent_id, item.conversation_id), {}).setdefault(mid, memory)
    batches = []
    for (user_id, agent_id, conversation_id), memories in groups.items():
        request_id = write_request_id(tenant_id, list(memories))
        batches.append(
            MemoryBatch(
                batch_id=batch_id(request_id, extractor),
                request_id=request_id,
                conversation_id=conversation_id,
                tenant_id=tenant_id,
                user_id=user_id,
                agent_id=agent_id,
                extractor=extractor,
                extractor_version=EXTRACTOR_VERSION,
                memories=tuple(memories.values()),
                lineage=Lineage(
                    source_topic=WRITE_SOURCE,
                    source_partition=-1,
                    source_offset=-1,
                    first_turn_index=0,
                    last_turn_index=0,
                ),
            )
        )
    return WritePlan(batches=tuple(batches), memory_ids=ids)


__all__ = ["EXTRACTOR_VERSION", "WRITE_EXTRACTORS", "WRITE_SOURCE", "WritePlan", "plan_write", "write_request_id"]
