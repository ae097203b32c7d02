"""memlane's events: pydantic models mirroring `schemas/*.avsc`, the shipped schema catalogue, and the codecs."""

from streams.events.models import (
    Attachment,
    BlobRef,
    ConversationTurn,
    EventModel,
    ExtractionRequest,
    Lineage,
    Memory,
    MemoryBatch,
    MemoryKind,
    Role,
    SkipRecord,
    SkipStage,
    UsageRecord,
    WindowTurn,
)

__all__ = [
    "Attachment",
    "BlobRef",
    "ConversationTurn",
    "EventModel",
    "ExtractionRequest",
    "Lineage",
    "Memory",
    "MemoryBatch",
    "MemoryKind",
    "Role",
    "SkipRecord",
    "SkipStage",
    "UsageRecord",
    "WindowTurn",
]
