"""`POST /v1/context`: RAG pre-ranking, the few memories worth a paid model's tokens for a query.

Search returns `candidates` memories (default `MEMLANE_OFFLOAD__CONTEXT_CANDIDATES`, 20) of the caller's
tenant; the service's `ContextRanker` (the local model, `processors.offload.rerank`) re-ranks them for the
query, and the best `top_n` (default `MEMLANE_OFFLOAD__CONTEXT_TOP_N`, 3) come back with their search and
model scores, their token counts and a `context` text ready to paste into a paid model's prompt. Without a
usable local model (none configured, refused, timed out, an invalid answer) the search order stands and the
answer says so: `reranked: false` and `reason`. `tokens` against `candidate_tokens` is what pre-ranking saves
over sending every candidate. `build_context` is shared by the route and `memlane context`.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sinks.memory_store import MemoryStore, SearchHit

from .api_models import ErrorOut, MemoryOut, SearchRequest
from .deps import ContextRanker, Stores, Tenant

router = APIRouter(tags=["memories"])
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in ((401, "no API key"), (403, "unknown API key"), (422, "invalid body"))
}


class ContextRequest(SearchRequest):
    """`POST /v1/context`: a search (query and filters) plus how many candidates to re-rank and keep."""

    limit: int = Field(default=10, ge=1, le=100, description="ignored: see candidates")
    candidates: int | None = Field(default=None, ge=1, le=100, description="search hits to re-rank")
    top_n: int | None = Field(default=None, ge=1, le=100, description="memories to return")


class ContextMemory(BaseModel):
    rank: int = Field(description="1 = most relevant")
    search_rank: int = Field(description="its rank in the search order")
    search_score: float
    relevance: float | None = Field(description="the local model's relevance (0..1); None when not re-ranked")
    tokens: int
    memory: MemoryOut


class ContextResponse(BaseModel):
    query: str
    reranked: bool = Field(description="whether the local model ordered the candidates")
    reason: str | None = Field(description="why not, when reranked is false")
    model: str | None
    candidates: int
    memories: list[ContextMemory]
    tokens: int = Field(description="tokens of the memories returned")
    candidate_tokens: int = Field(description="tokens of every candidate (what sending them all would cost)")
    tokens_saved_ratio: float
    context: str = Field(description="the memories as numbered lines, ready for a prompt")
    rerank_ms: float
    took_ms: float


def build_context(
    store: MemoryStore,
    ranker: ContextRanker,
    tenant_id: str,
    request: ContextRequest,
    *,
    candidates: int,
    top_n: int,
) -> ContextResponse:
    """Search, re-rank (or keep the search order) and keep the best `request.top_n or top_n`."""
    started = time.perf_counter()
    count = request.candidates or candidates
    keep = request.top_n or top_n
    hits: list[SearchHit] = store.search(
        tenant_id, request.query, request.filters(), limit=count, min_score=request.min_score, mode=request.mode
    )
    ranking = ranker.rank(request.query, [hit.record.text for hit in hits], tenant_id=tenant_id)
    chosen = list(zip(ranking.order, ranking.relevance, strict=True))[:keep]
    memories = [
        ContextMemory(
            rank=rank,
            search_rank=index + 1,
            search_score=hits[index].score,
            relevance=relevance,
            tokens=ranking.tokens[index],
            memory=MemoryOut.of(hits[index].record),
        )
        for rank, (index, relevance) in enumerate(chosen, start=1)
    ]
    used, total = sum(m.tokens for m in memories), sum(ranking.tokens)
    return ContextResponse(
        query=request.query,
        reranked=ranking.reranked,
        reason=ranking.reason,
        model=ranking.model,
        candidates=len(hits),
        memories=memories,
        tokens=used,
        candidate_tokens=total,
        tokens_saved_ratio=round(1.0 - used / total, 4) if total else 0.0,
        context="\n".join(f"{m.rank}. {m.memory.text}" for m in memories),
        rerank_ms=round(ranking.latency_ms, 3),
        took_ms=round((time.perf_counter() - started) * 1000.0, 3),
    )


@router.post("/v1/context", response_model=ContextResponse, responses=_ERRORS)
def context(body: ContextRequest, tenant: Tenant, stores: Stores) -> ContextResponse:
    """The best few memories for a query: top candidates re-ranked by the local model (or in search order)."""
    config = stores.config
    return build_context(
        stores.store(),
        stores.ranker(),
        tenant,
        body,
        candidates=config.context_candidates,
        top_n=config.context_top_n,
    )


__all__ = ["ContextMemory", "ContextRanker", "ContextRequest", "ContextResponse", "build_context", "router"]
