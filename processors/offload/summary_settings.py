"""Hierarchical summaries (`MEMLANE_SUMMARY__*`): the local model that writes them, their budgets, the worker.

MEMLANE_SUMMARY__MODEL=...              the Ollama model that summarises (default: the extraction model)
MEMLANE_SUMMARY__LEVEL1_TOKENS=200      a window's summary
MEMLANE_SUMMARY__LEVEL2_TOKENS=500      a ten-turn block's summary
MEMLANE_SUMMARY__LEVEL3_TOKENS=4000     a conversation's compaction
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SummarySettings(BaseModel):
    """The summarise worker and its local model: budgets per level, block size, group, timeouts."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    enabled: bool = True
    """Whether `memlane up` supervises the summarise worker beside the other workers."""
    model: str | None = None
    """The Ollama model that summarises; unset, the extraction worker's model."""
    level1_tokens: int = Field(default=200, ge=20, le=2000)
    """About how long a level-1 summary (one forwarded window) is, in tokens; longer answers are cut."""
    level2_tokens: int = Field(default=500, ge=50, le=4000)
    """About how long a level-2 summary (a block of `block_turns` turn indexes) is, in tokens."""
    level3_tokens: int = Field(default=4000, ge=100, le=16000)
    """About how long a level-3 summary (a conversation's compaction) is, in tokens."""
    block_turns: int = Field(default=10, ge=2, le=1000)
    """Turn indexes per level-2 block: block b covers indexes b*block_turns .. (b+1)*block_turns-1."""
    timeout_s: float = Field(default=60.0, gt=0.0)
    """Timeout of one summary call to the local model, in seconds."""
    num_ctx: int = Field(default=8192, ge=512)
    """`num_ctx` of a summary call."""
    prompt_chars: int = Field(default=24_000, ge=1000)
    """Characters of turn text shown to the model in one summary prompt (the longest turns are cut first)."""
    group_id: str = "memlane-summarise"
    """The summarise worker's consumer group on the requests topic."""
    batch_size: int = Field(default=16, ge=1, le=10_000)
    """Requests the summarise worker takes per checkpoint."""
    claude_max_tokens: int = Field(default=6000, ge=256)
    """`max_tokens` of the Claude fallback's level-3 summary call."""


__all__ = ["SummarySettings"]
