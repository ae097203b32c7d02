"""A read-through blob store reads another store's objects and writes only its own."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from schemas.errors import BlobStoreError
from sinks.blobstore import BlobStore, ReadThroughBlobStore


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_reads_the_lower_store_and_never_writes_it(tmp_path: Path) -> None:
    with BlobStore(tmp_path / "production") as production:
        kept = production.put(b"a tool output of production " * 100, referrer="req-1").sha256
    before = _tree(tmp_path / "production")
    with ReadThroughBlobStore(tmp_path / "shadow", tmp_path / "production") as shadow:
        assert shadow.get(kept).startswith(b"a tool output of production")
        assert shadow.exists(kept)
        assert shadow.slice_bytes(kept, 0, 5).data == b"a too"
        own = shadow.put(b"a window of the replay", referrer="req-2").sha256
        shadow.add_referrer(own, "tenant:acme")
        assert shadow.get(own) == b"a window of the replay"
        assert shadow.referrers(kept) == [], "the lower store's index is never opened"
        shadow.gc(0)
        with pytest.raises(BlobStoreError, match="not found"):
            shadow.get("0" * 64)
    assert _tree(tmp_path / "production") == before, "not a byte of production changed"
    with BlobStore(tmp_path / "production") as production:
        assert not production.exists(own)


def test_refuses_to_read_through_to_itself(tmp_path: Path) -> None:
    with pytest.raises(BlobStoreError, match="itself"):
        ReadThroughBlobStore(tmp_path / "s", tmp_path / "s")
