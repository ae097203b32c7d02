"""Tuning of the work offloaded from the paid model (`MEMLANE_OFFLOAD__*`): writes, RAG pre-ranking, digests.

MEMLANE_OFFLOAD__WRITE_MAX_BATCH=100         most memories one `POST /v1/memories:batch` may carry
MEMLANE_OFFLOAD__CONTEXT_CANDIDATES=20       search hits the local model re-ranks for `/v1/context`
MEMLANE_OFFLOAD__CONTEXT_TOP_N=3             memories handed back, ready for a paid model
MEMLANE_OFFLOAD__RERANK_MODEL=...            the Ollama model that re-ranks (default: the extraction model)
MEMLANE_OFFLOAD__RERANK_TIMEOUT_S=20         one re-ranking call; slower falls back to the search order
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OffloadSettings(BaseModel):
    """Limits and models of the direct write API and RAG pre-ranking."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    write_max_batch: int = Field(default=100, ge=1, le=10_000)
    """Most memories one `POST /v1/memories:batch` (or one import batch) may carry."""
    context_candidates: int = Field(default=20, ge=1, le=100)
    """Search hits the local model re-ranks for `/v1/context` and `memlane context`."""
    context_top_n: int = Field(default=3, ge=1, le=100)
    """Memories handed back by `/v1/context`, ready for a paid model."""
    rerank_model: str | None = None
    """The Ollama model that re-ranks; unset, the extraction worker's model."""
    rerank_timeout_s: float = Field(default=20.0, gt=0.0)
    """One re-ranking call, in seconds; slower falls back to the search order."""
    rerank_num_ctx: int = Field(default=4096, ge=512)
    """`num_ctx` of the re-ranking call."""
    rerank_max_chars: int = Field(default=400, ge=40)
    """Each candidate's text is cut to this in the re-ranking prompt (the answer keeps the whole text)."""
    digest_tool_outputs: bool = True
    """Tool outputs over `digest_threshold_chars` go to the blob store with a digest in place of the preview."""
    digest_threshold_chars: int = Field(default=2000, ge=200)
    """Tool outputs longer than this are digested and claim-checked."""
    digest_target_tokens: int = Field(default=200, ge=50, le=2000)
    """About how long a digest is, in tokens."""
    digest_with_model: bool = False
    """Ask the local model (`digest_model` on `MEMLANE_OLLAMA_URL`) for digests; the extractive digest otherwise
    and whenever the model is unusable. Off by default: a publisher then never waits on a model."""
    digest_model: str | None = None
    """The Ollama model that digests; unset, the extraction worker's fast model."""
    digest_timeout_s: float = Field(default=30.0, gt=0.0)
    """Timeout of one digest call to the local model, in seconds."""
    digest_prompt_chars: int = Field(default=6000, ge=500)
    """Characters of a tool output shown to the model that digests it."""


__all__ = ["OffloadSettings"]
