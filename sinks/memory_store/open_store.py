"""Open the configured memory store: a Qdrant server when `MEMLANE_QDRANT_URL` is set, else embedded.

    from streams.settings import get_settings
    from sinks.memory_store import open_memory_store

    with open_memory_store(get_settings()) as store:
        store.search("acme", "where is Alice travelling?", SearchFilters(user_id="alice"))

The embedded shard lives in `MEMLANE_SINKS__QDRANT_PATH/<collection>` (default `.memlane/qdrant/memories`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sinks.embeddings import Embedder, build_embedder

from .edge import EdgeMemoryStore
from .memory_store import MemoryStore
from .qdrant_server import ClientMemoryStore

if TYPE_CHECKING:
    from streams.settings import Settings


def open_memory_store(settings: Settings, embedder: Embedder | None = None) -> MemoryStore:
    """The memory store `settings` describe, embedding with `embedder` (default: the configured one)."""
    sinks = settings.sinks
    embedder = embedder or build_embedder(sinks, ollama_url=settings.ollama_url)
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return ClientMemoryStore.connect(settings.qdrant_url, embedder, sinks, api_key=api_key)
    return EdgeMemoryStore(sinks.qdrant_path / sinks.collection, embedder, sinks)


__all__ = ["open_memory_store"]
