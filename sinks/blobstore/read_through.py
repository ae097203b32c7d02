"""`ReadThroughBlobStore`: a blob store of its own that also reads another store's objects, never writing them.

A replay (or any shadow deployment) must see the content production claim-checked (turn texts, tool
outputs referenced by the events it re-runs) without adding a byte to production's store: writes (puts,
referrers, GC) go to this store's `root` only; a read of a blob this store lacks reads the object file of
the `lower` store directly (decompressed and re-hashed like any read) without opening its index, so not
even a SQLite lock or WAL file appears there. Referrers and `stat` know only this store's own blobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from schemas.errors import BlobStoreError

from . import compression
from .blob_store import BlobStore, verified_blob
from .keys import object_path, validate_key
from .objects import read_object


class ReadThroughBlobStore(BlobStore):
    """Writes to `root`; reads from `root`, then from the objects of the store at `lower` (read-only)."""

    def __init__(
        self,
        root: Path,
        lower: Path,
        level: int = compression.DEFAULT_LEVEL,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(root, level, clock=clock)
        self.lower = Path(lower)
        if self.lower.resolve() == self.root.resolve():
            raise BlobStoreError(f"a read-through blob store cannot read through to itself ({self.root})")

    def _lower_path(self, key: str) -> Path:
        return object_path(self.lower / "objects", key)

    def get(self, sha256: str) -> bytes:
        key = validate_key(sha256)
        if super().exists(key):
            return super().get(key)
        return verified_blob(key, read_object(self._lower_path(key), key=key))

    def exists(self, sha256: str) -> bool:
        key = validate_key(sha256)
        return super().exists(key) or self._lower_path(key).is_file()


__all__ = ["ReadThroughBlobStore"]
