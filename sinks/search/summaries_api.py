"""`GET /v1/summaries/{conversation_id}` and `POST /v1/summaries/{conversation_id}:compact`: a conversation's
hierarchical summaries under the API key's tenant.

The read returns the latest summary at each level (1 a window, 2 a block of turns, 3 the compaction): the one
covering the highest turn index, with its range, model, extractor and version (`latest_summaries`, shared by
`memlane summary`). The compaction builds a `task=summary`, `summary_level=3` `ExtractionRequest` whose turns
are the conversation's stored level-2 summaries plus the level-1 ones after the last of them
(`compaction_request`) and hands it to the service's `CompactionPublisher`, which puts it on the requests
topic; the summarise worker writes it (or, when the local model fails, the fallback through Claude). Its id
depends on the summaries it covers, so asking again with nothing new changes nothing (202 either way).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from schemas.events import ExtractionRequest, MemoryKind, Role, WindowTurn
from sinks.memory_store import MemoryRecord, MemoryStore, SearchFilters

from .api_models import ErrorOut
from .deps import CompactionPublisher, Stores, Tenant

router = APIRouter(tags=["summaries"])
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "no API key"),
        (403, "unknown API key"),
        (404, "no summary of this conversation for this tenant"),
        (503, "the requests topic did not acknowledge the compaction"),
    )
}
LEVELS = (1, 2, 3)
COMPACTION_MAX_CHARS = 400_000
"""The most summary text one compaction request carries (well under the message limit): each input is cut to
its share, never below `COMPACTION_MIN_SHARE` characters; beyond that only the latest inputs are kept."""
COMPACTION_MIN_SHARE = 200


class SummaryOut(BaseModel):
    level: int = Field(description="1 a window, 2 a block of turns, 3 the conversation's compaction")
    memory_id: str
    first_turn_index: int
    last_turn_index: int
    text: str
    model: str | None
    extractor: str = Field(description="summariser (the local model) or summariser-claude (the fallback)")
    version: int = Field(description="how many summaries of this range there have been")
    user_ids: list[str]
    event_time: datetime


class SummariesResponse(BaseModel):
    conversation_id: str
    summaries: list[SummaryOut] = Field(description="the latest summary at each level that has one, level order")
    counts: dict[str, int] = Field(description="stored summaries per level")


class CompactionResponse(BaseModel):
    request_id: str
    conversation_id: str
    first_turn_index: int
    last_turn_index: int
    inputs: int = Field(description="summaries the compaction covers (level 2, then later level 1)")


def summary_records(store: MemoryStore, tenant_id: str, conversation_id: str) -> list[MemoryRecord]:
    """Every summary memory of one conversation of `tenant_id`."""
    filters = SearchFilters(conversation_id=conversation_id, kinds=(MemoryKind.SUMMARY,))
    return [r for r in store.records(tenant_id, filters) if r.summary_level in LEVELS]


def _range(record: MemoryRecord) -> tuple[int, int]:
    if record.lineage is None:
        indexes = record.source_turn_indexes or (0,)
        return min(indexes), max(indexes)
    return record.lineage.first_turn_index, record.lineage.last_turn_index


def _out(record: MemoryRecord) -> SummaryOut:
    first, last = _range(record)
    return SummaryOut(
        level=record.summary_level or 1,
        memory_id=record.memory_id,
        first_turn_index=first,
        last_turn_index=last,
        text=record.text,
        model=record.model,
        extractor=record.extractor,
        version=record.version,
        user_ids=list(record.user_ids),
        event_time=record.event_time,
    )


def latest_summaries(store: MemoryStore, tenant_id: str, conversation_id: str) -> SummariesResponse:
    """The latest summary (highest last turn index, then highest version) at each level."""
    records = summary_records(store, tenant_id, conversation_id)
    latest: dict[int, MemoryRecord] = {}
    counts = dict.fromkeys((str(level) for level in LEVELS), 0)
    for record in records:
        level = record.summary_level or 1
        counts[str(level)] += 1
        best = latest.get(level)
        if best is None or (_range(record)[1], record.version) > (_range(best)[1], best.version):
            latest[level] = record
    return SummariesResponse(
        conversation_id=conversation_id,
        summaries=[_out(latest[level]) for level in LEVELS if level in latest],
        counts=counts,
    )


def compaction_inputs(records: Iterable[MemoryRecord]) -> list[MemoryRecord]:
    """Level-2 summaries in turn order, then the level-1 summaries after the last of them."""
    by_level: dict[int, list[MemoryRecord]] = {1: [], 2: []}
    for record in records:
        if record.summary_level in by_level:
            by_level[record.summary_level or 1].append(record)
    blocks = sorted(by_level[2], key=_range)
    covered = _range(blocks[-1])[1] if blocks else -1
    windows = sorted((r for r in by_level[1] if _range(r)[0] > covered), key=_range)
    return [*blocks, *windows]


def compaction_request(
    tenant_id: str, conversation_id: str, inputs: Sequence[MemoryRecord], *, user_id: str | None = None
) -> ExtractionRequest:
    """The level-3 summary request over `inputs` (one turn per summary); its id depends on what they say."""
    if not inputs:
        raise ValueError("a compaction needs at least one summary")
    inputs = inputs[-(COMPACTION_MAX_CHARS // COMPACTION_MIN_SHARE) :]
    share = max(COMPACTION_MIN_SHARE, COMPACTION_MAX_CHARS // len(inputs))
    turns = tuple(
        WindowTurn(
            event_id=record.memory_id,
            turn_index=_range(record)[1],
            role=Role.SYSTEM,
            speaker=f"turns {_range(record)[0]}..{_range(record)[1]}",
            user_id=record.user_id,
            content=record.text[:share],
            token_count=max(1, len(record.text[:share]) // 4),
            event_time=record.event_time,
        )
        for record in inputs
    )
    digest = hashlib.sha256()
    for part in (tenant_id, conversation_id, *(f"{r.memory_id}:{r.version}:{r.text}" for r in inputs)):
        digest.update(part.encode("utf-8") + b"\x1f")
    owner = user_id or inputs[0].user_id
    return ExtractionRequest(
        request_id=f"compact-{digest.hexdigest()[:32]}",
        conversation_id=conversation_id,
        tenant_id=tenant_id,
        user_id=owner,
        agent_id=inputs[0].agent_id,
        first_turn_index=_range(inputs[0])[0],
        last_turn_index=max(_range(r)[1] for r in inputs),
        turns=turns,
        priority=0.5,
        priority_class="summary",
        trigger="compaction",
        route="complex",
        token_count=sum(t.token_count for t in turns),
        created_at=datetime.now(UTC),
        task="summary",
        summary_level=3,
    )


def plan_compaction(
    store: MemoryStore, tenant_id: str, conversation_id: str, *, user_id: str | None = None
) -> ExtractionRequest | None:
    """The compaction request of a conversation's stored summaries, or None when it has none to compact."""
    inputs = compaction_inputs(summary_records(store, tenant_id, conversation_id))
    return compaction_request(tenant_id, conversation_id, inputs, user_id=user_id) if inputs else None


@router.get("/v1/summaries/{conversation_id}", response_model=SummariesResponse, responses=_ERRORS)
def summaries(conversation_id: str, tenant: Tenant, stores: Stores) -> SummariesResponse:
    """The latest summary at each level of one conversation of the caller's tenant."""
    found = latest_summaries(stores.store(), tenant, conversation_id)
    if not found.summaries:
        raise HTTPException(404, f"no summary of conversation {conversation_id!r}")
    return found


@router.post(
    "/v1/summaries/{conversation_id}:compact", status_code=202, response_model=CompactionResponse, responses=_ERRORS
)
def compact(conversation_id: str, tenant: Tenant, stores: Stores) -> CompactionResponse:
    """Ask for a level-3 compaction of the conversation (published to the requests topic)."""
    request = plan_compaction(stores.store(), tenant, conversation_id)
    if request is None:
        raise HTTPException(404, f"no summary of conversation {conversation_id!r} to compact")
    stores.compactor().publish(request)
    return CompactionResponse(
        request_id=request.request_id,
        conversation_id=conversation_id,
        first_turn_index=request.first_turn_index,
        last_turn_index=request.last_turn_index,
        inputs=len(request.turns),
    )


__all__ = [
    "CompactionPublisher",
    "CompactionResponse",
    "SummariesResponse",
    "SummaryOut",
    "compaction_inputs",
    "compaction_request",
    "latest_summaries",
    "plan_compaction",
    "router",
    "summary_records",
]
