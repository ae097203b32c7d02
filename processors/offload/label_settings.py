"""Tuning of the labeller (`MEMLANE_LABELS__*`): the local model that gives memories short semantic labels.

MEMLANE_LABELS__ENABLED=true             `memlane up` supervises `memlane worker label`
MEMLANE_LABELS__MODEL=...                the Ollama model that labels (default: the extraction worker's fast model)
MEMLANE_LABELS__BATCH_SIZE=8             memories labelled in one chat call
MEMLANE_LABELS__TIMEOUT_S=120            one labelling call; slower leaves the heuristic tags in place
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LabelSettings(BaseModel):
    """The labeller: which local model labels memories, how many per call, and its worker's consumer group."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    enabled: bool = True
    """`memlane up` supervises the label worker (`memlane worker label`); off, memories keep their heuristic tags."""
    model: str | None = None
    """The Ollama model that labels; unset, the extraction worker's fast model. Never Claude: labels are not
    worth paid tokens."""
    batch_size: int = Field(default=8, ge=1, le=64)
    """Memories labelled in one chat call."""
    max_labels: int = Field(default=3, ge=1, le=8)
    """Most labels kept per memory (the model's first ones)."""
    timeout_s: float = Field(default=120.0, gt=0.0)
    """One labelling call, in seconds; a slower call leaves that batch's heuristic tags in place."""
    num_ctx: int = Field(default=4096, ge=512)
    """`num_ctx` of the labelling call."""
    max_chars: int = Field(default=300, ge=40)
    """Each memory's text is cut to this in the labelling prompt."""
    group_id: str = "memlane-labeller"
    """The label worker's consumer group on the memories topic."""
    worker_batch_size: int = Field(default=64, ge=1)
    """Memory batches the label worker reads per poll (their memories are labelled `batch_size` at a time)."""


__all__ = ["LabelSettings"]
