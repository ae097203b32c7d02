"""Memory search over HTTP: a FastAPI service (search, memories with lineage, blob slices) and its client.

    from sinks.search import SearchServiceConfig, ServerThread, create_app
    app = create_app(SearchServiceConfig(api_keys={"k": "acme"}), store=store, blobs=blobs)

The composition root (`streams.wiring.search_app(settings)`) gives it openers for the configured stores.

`memlane serve` runs it with uvicorn; `memlane search` queries the local store directly, or a running
service with `--url`. API keys map to tenants (`Settings.api_keys`); see `tenancy.py`.
"""

from .api_models import BlobSliceOut, ErrorOut, HitOut, MemoryDetail, MemoryOut, SearchRequest, SearchResponse
from .deps import SearchServiceConfig
from .ranges import RangeError, SliceRequest, parse_slice
from .search_client import SearchClient
from .server import ServerThread, serve
from .service import create_app, search_memories
from .tenancy import ApiKeys, AuthError, blob_visible, tenant_referrer

__all__ = [
    "ApiKeys",
    "AuthError",
    "BlobSliceOut",
    "ErrorOut",
    "HitOut",
    "MemoryDetail",
    "MemoryOut",
    "RangeError",
    "SearchClient",
    "SearchRequest",
    "SearchResponse",
    "SearchServiceConfig",
    "ServerThread",
    "SliceRequest",
    "blob_visible",
    "create_app",
    "parse_slice",
    "search_memories",
    "serve",
    "tenant_referrer",
]
