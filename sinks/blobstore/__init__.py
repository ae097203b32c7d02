"""zstd content-addressed blob store: large tool outputs kept out of Kafka events, fetched back by slices.

    store = BlobStore(Path("var/blobs"), level=10)
    ref = offload_if_large(store, tool_output, referrer=request_id)
    if ref.offloaded:
        first = store.slice_lines(ref.sha256, 1, 200)

Keys are the hex sha256 of the raw bytes; every key from outside is validated (`BlobStoreError` otherwise).
"""

from __future__ import annotations

from .blob_info import BlobInfo, GcResult, PutResult, StoreStats
from .blob_store import DEFAULT_MEDIA_TYPE, BlobStore
from .compression import DEFAULT_LEVEL
from .keys import content_key, validate_key
from .offload import DEFAULT_PREVIEW_CHARS, DEFAULT_THRESHOLD_CHARS, OffloadResult, offload_if_large
from .read_through import ReadThroughBlobStore
from .slices import MAX_SLICE_BYTES, MAX_SLICE_LINES, BlobSlice

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_MEDIA_TYPE",
    "DEFAULT_PREVIEW_CHARS",
    "DEFAULT_THRESHOLD_CHARS",
    "MAX_SLICE_BYTES",
    "MAX_SLICE_LINES",
    "BlobInfo",
    "BlobSlice",
    "BlobStore",
    "GcResult",
    "OffloadResult",
    "PutResult",
    "ReadThroughBlobStore",
    "StoreStats",
    "content_key",
    "offload_if_large",
    "validate_key",
]
