"""Referrers and GC: only unreferenced blobs older than the age go; strays of crashed writers go too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemas.errors import BlobStoreError
from sinks.blobstore import BlobStore, content_key
from sinks.blobstore.objects import TEMP_MARKER


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_referrers_are_recorded_and_removed(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        key = store.put(b"claim", referrer="req-1").sha256
        assert store.add_referrer(key, "memory-9") is True
        assert store.add_referrer(key, "memory-9") is False
        assert store.referrers(key) == ["memory-9", "req-1"]
        assert store.remove_referrer(key, "req-1") is True
        assert store.remove_referrer(key, "req-1") is False
        assert store.referrers(key) == ["memory-9"]
        with pytest.raises(BlobStoreError, match="referrer"):
            store.add_referrer(key, "")


def test_gc_removes_only_unreferenced_old_blobs(tmp_path: Path) -> None:
    clock = FakeClock()
    with BlobStore(tmp_path, clock=clock) as store:
        old_free = store.put(b"old and unreferenced" * 50)
        old_kept = store.put(b"old but referenced" * 50, referrer="memory-1")
        clock.now += 3600
        young_free = store.put(b"young and unreferenced" * 50)
        clock.now += 60

        result = store.gc(min_age_seconds=600)

        assert result.removed == 1
        assert result.bytes_freed == old_free.info.compressed_bytes
        assert not store.exists(old_free.sha256)
        assert not store.path_of(old_free.sha256).exists()
        with pytest.raises(BlobStoreError, match="not found"):
            store.get(old_free.sha256)
        assert store.get(old_kept.sha256) == b"old but referenced" * 50
        assert store.get(young_free.sha256) == b"young and unreferenced" * 50
        assert store.stats().blob_count == 2

        store.remove_referrer(old_kept.sha256, "memory-1")
        second = store.gc(min_age_seconds=600)
        assert second.removed == 1
        assert not store.exists(old_kept.sha256)
        assert store.exists(young_free.sha256)
        assert store.gc(min_age_seconds=600).removed == 0


def test_gc_prunes_empty_shard_dirs(tmp_path: Path) -> None:
    clock = FakeClock()
    with BlobStore(tmp_path, clock=clock) as store:
        key = store.put(b"to be collected").sha256
        clock.now += 10
        assert store.gc(min_age_seconds=5).removed == 1
    assert not (tmp_path / "objects" / key[:2]).exists()
    assert (tmp_path / "objects").is_dir()


def test_re_put_refreshes_age(tmp_path: Path) -> None:
    clock = FakeClock()
    with BlobStore(tmp_path, clock=clock) as store:
        first = store.put(b"handed out again")
        clock.now += 3600
        again = store.put(b"handed out again")
        assert again.created is False
        assert again.info.created_at == first.info.created_at
        assert again.info.last_put_at == clock.now
        clock.now += 60
        assert store.gc(min_age_seconds=600).removed == 0
        assert store.exists(first.sha256)


def test_gc_removes_stray_objects_and_old_temp_files(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        kept = store.put(b"indexed").sha256
        stray_key = content_key(b"written but never indexed")
        stray = store.path_of(stray_key)
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"\x28\xb5\x2f\xfd junk")
        temp = store.path_of(kept).parent / f"{kept}.zst{TEMP_MARKER}abc123"
        temp.write_bytes(b"half written")
        unrelated = tmp_path / "objects" / "README"
        unrelated.write_text("not ours")
        old = 1_000_000.0
        for path in (stray, temp):
            os.utime(path, (old, old))

        result = store.gc(min_age_seconds=3600)

        assert result.removed == 2
        assert result.bytes_freed == len(b"\x28\xb5\x2f\xfd junk") + len(b"half written")
        assert not stray.exists()
        assert not temp.exists()
        assert unrelated.exists()
        assert store.get(kept) == b"indexed"


def test_gc_rejects_bad_age(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        for bad in (-1, "10", None):
            with pytest.raises(BlobStoreError, match="min_age_seconds"):
                store.gc(bad)  # type: ignore[arg-type]
