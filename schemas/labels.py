"""Label batches: how the labeller's `MemoryBatch`es on the memories topic are told apart from extracted ones.

The label worker publishes the local model's labels as a `MemoryBatch` whose `extractor` is `LABELLER`, with
the same memory ids (and key) as the batch it labels and each memory's `labels` and `labels_model` set. The
memory sink applies such a batch as a payload update of the memories it names (no new memory, no new
version); the verifier does not count it as memories; the label worker skips its own batches.
"""

from __future__ import annotations

from schemas.events import MemoryBatch

LABELLER = "labeller"
"""The `extractor` of a label batch."""


def is_label_batch(batch: MemoryBatch) -> bool:
    """Whether `batch` carries labels of stored memories rather than new memories."""
    return batch.extractor == LABELLER


__all__ = ["LABELLER", "is_label_batch"]
