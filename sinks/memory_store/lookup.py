"""The processors' `MemoryLookup` served by the memory store: a user's existing memories nearest a vector.

The dedupe stage asks, before a turn reaches the LLM, whether the user already has a memory this
close to it. The vectors must come from the store's own embedder (same model, same dimension).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .memory_store import MemoryStore


class MemoryStoreLookup:
    """Adapts `MemoryStore.nearest` (search hits) to `processors.dedupe.MemoryLookup` ((id, score) pairs)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def nearest(
        self, tenant_id: str, user_id: str, vector: npt.NDArray[np.float32], limit: int
    ) -> list[tuple[str, float]]:
        hits = self.store.nearest(tenant_id, user_id, vector, limit=limit)
        return [(hit.record.memory_id, float(hit.score)) for hit in hits]


__all__ = ["MemoryStoreLookup"]
