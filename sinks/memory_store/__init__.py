"""Long-term memories in Qdrant: idempotent upserts with near-duplicate updates, tenant-scoped search.

Two backends behind one `MemoryStore`: `EdgeMemoryStore` (embedded qdrant-edge shard on local disk,
the default) and `ClientMemoryStore` (a Qdrant server through qdrant-client). `open_memory_store`
picks one from the settings.
"""

from .edge import EdgeMemoryStore
from .memory_records import (
    DEFAULT_MODE,
    MemoryRecord,
    MemoryVersion,
    SearchFilters,
    SearchHit,
    SearchMode,
    UpsertReport,
)
from .memory_store import MemoryStore
from .open_store import open_memory_store
from .payload import point_id
from .qdrant_server import ClientMemoryStore
from .tags import TAG_VOCAB, tag_text

__all__ = [
    "DEFAULT_MODE",
    "TAG_VOCAB",
    "ClientMemoryStore",
    "EdgeMemoryStore",
    "MemoryRecord",
    "MemoryStore",
    "MemoryVersion",
    "SearchFilters",
    "SearchHit",
    "SearchMode",
    "UpsertReport",
    "open_memory_store",
    "point_id",
    "tag_text",
]
