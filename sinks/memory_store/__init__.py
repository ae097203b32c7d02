"""Long-term memories in Qdrant: idempotent upserts with near-duplicate updates, tenant-scoped search.

Two backends behind one `MemoryStore`: `EdgeMemoryStore` (embedded qdrant-edge shard on local disk,
the default) and `ClientMemoryStore` (a Qdrant server through qdrant-client). `open_memory_store`
picks one from the settings.
"""

from .client import ClientMemoryStore
from .edge import EdgeMemoryStore
from .factory import open_memory_store
from .models import MemoryRecord, MemoryVersion, SearchFilters, SearchHit, SearchMode, UpsertReport
from .payload import point_id
from .store import MemoryLookup, MemoryStore
from .tags import TAG_VOCAB, tag_text

__all__ = [
    "TAG_VOCAB",
    "ClientMemoryStore",
    "EdgeMemoryStore",
    "MemoryLookup",
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
