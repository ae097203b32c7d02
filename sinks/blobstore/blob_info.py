"""The small frozen records the blob store hands out: blob metadata, put outcome, GC outcome, totals."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """Index entry of one blob. `last_put_at` moves on every put of the same content; GC ages by it."""

    sha256: str
    size_bytes: int
    compressed_bytes: int
    media_type: str
    created_at: float
    last_put_at: float


@dataclass(frozen=True, slots=True)
class PutResult:
    """Outcome of `BlobStore.put`: the blob's index entry, and whether this call stored it first."""

    info: BlobInfo
    created: bool

    @property
    def sha256(self) -> str:
        return self.info.sha256


@dataclass(frozen=True, slots=True)
class GcResult:
    """Outcome of `BlobStore.gc`: blobs removed and the on-disk bytes they freed (stray files included)."""

    removed: int
    bytes_freed: int


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Totals over the index. `ratio` is raw / compressed bytes (0.0 for an empty store)."""

    blob_count: int
    raw_bytes: int
    compressed_bytes: int

    @property
    def ratio(self) -> float:
        return self.raw_bytes / self.compressed_bytes if self.compressed_bytes else 0.0


__all__ = ["BlobInfo", "GcResult", "PutResult", "StoreStats"]
