"""BlobStore writes and reads: round trips, idempotent puts, zstd framing, integrity, atomicity, threads."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
import zstandard

from schemas.errors import BlobStoreError
from sinks import blobstore
from sinks.blobstore import BlobStore, content_key
from sinks.blobstore.objects import TEMP_MARKER

PAYLOADS = [
    b"",
    b"a",
    b"line one\nline two\r\nline three",
    bytes(range(256)) * 300,
    ("tool output with unicode: \u00e9\u4e2d\U0001f600\n" * 500).encode(),
    os.urandom(100_000),
]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


@pytest.mark.parametrize("data", PAYLOADS, ids=lambda d: f"{len(d)}B")
def test_round_trip(tmp_path: Path, data: bytes) -> None:
    with BlobStore(tmp_path) as store:
        put = store.put(data, media_type="text/x-log")
        assert put.created is True
        assert put.sha256 == hashlib.sha256(data).hexdigest()
        assert store.get(put.sha256) == data
        info = store.stat(put.sha256)
        assert info.size_bytes == len(data)
        assert info.compressed_bytes == store.path_of(put.sha256).stat().st_size
        assert info.media_type == "text/x-log"
        assert store.exists(put.sha256)


def test_object_is_one_zstd_frame_with_content_size(tmp_path: Path) -> None:
    data = b"compress me " * 1000
    with BlobStore(tmp_path, level=3) as store:
        frame = store.path_of(store.put(data).sha256).read_bytes()
    params = zstandard.get_frame_parameters(frame)
    assert params.content_size == len(data)
    assert params.dict_id == 0
    assert zstandard.ZstdDecompressor().decompress(frame) == data
    assert len(frame) < len(data) // 20


def test_level_is_validated(tmp_path: Path) -> None:
    for bad in (0, 23, -1, True):
        with pytest.raises(BlobStoreError, match="zstd level"):
            BlobStore(tmp_path, level=bad)


def test_higher_level_compresses_text_no_worse(tmp_path: Path) -> None:
    data = b"".join(
        f"2024-01-01 12:00:{i % 60:02d} INFO worker-{i % 7} handled request {i}\n".encode() for i in range(5000)
    )
    sizes = {}
    for level in (1, 19):
        with BlobStore(tmp_path / str(level), level=level) as store:
            sizes[level] = store.stat(store.put(data).sha256).compressed_bytes
    assert sizes[19] < sizes[1]


def test_put_is_idempotent(tmp_path: Path) -> None:
    data = b"same content" * 100
    with BlobStore(tmp_path) as store:
        first = store.put(data, media_type="text/plain")
        before = store.stats()
        second = store.put(data, media_type="application/json")
        after = store.stats()
        assert (first.created, second.created) == (True, False)
        assert first.sha256 == second.sha256
        assert after == before
        assert after.blob_count == 1
        assert second.info.media_type == "text/plain"  # the first put's media type is kept
        assert len(_files(tmp_path)) == 1


def test_stats_totals_and_ratio(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        assert store.stats().blob_count == 0
        assert store.stats().ratio == 0.0
        a = store.put(b"x" * 10_000)
        b = store.put(b"y" * 20_000)
        stats = store.stats()
    assert stats.blob_count == 2
    assert stats.raw_bytes == 30_000
    assert stats.compressed_bytes == a.info.compressed_bytes + b.info.compressed_bytes
    assert stats.ratio == pytest.approx(30_000 / stats.compressed_bytes)
    assert stats.ratio > 100


def test_missing_blob(tmp_path: Path) -> None:
    key = content_key(b"never stored")
    with BlobStore(tmp_path) as store:
        assert store.exists(key) is False
        with pytest.raises(BlobStoreError, match=f"blob {key} not found"):
            store.get(key)
        with pytest.raises(BlobStoreError, match="not found"):
            store.stat(key)
        with pytest.raises(BlobStoreError, match="not found"):
            store.add_referrer(key, "memory-1")


def test_bit_flip_in_object_is_detected(tmp_path: Path) -> None:
    data = b"precious tool output\n" * 2000
    with BlobStore(tmp_path) as store:
        key = store.put(data).sha256
        path = store.path_of(key)
        frame = bytearray(path.read_bytes())
        frame[len(frame) // 2] ^= 0xFF
        path.write_bytes(bytes(frame))
        with pytest.raises(BlobStoreError, match=key):
            store.get(key)
        with pytest.raises(BlobStoreError, match=key):
            store.slice_bytes(key, 0, 10)


def test_swapped_object_fails_integrity_check(tmp_path: Path) -> None:
    """A valid zstd frame of other content under the key: the re-hash after decompression catches it."""
    with BlobStore(tmp_path) as store:
        key = store.put(b"the real content").sha256
        forged = zstandard.ZstdCompressor(write_content_size=True).compress(b"forged content!!")
        store.path_of(key).write_bytes(forged)
        with pytest.raises(BlobStoreError, match=f"blob {key} failed its integrity check"):
            store.get(key)


def test_truncated_object_is_detected(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        key = store.put(os.urandom(5000)).sha256
        path = store.path_of(key)
        path.write_bytes(path.read_bytes()[:100])
        with pytest.raises(BlobStoreError, match=key):
            store.get(key)


def test_put_repairs_a_missing_object_file(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        key = store.put(b"repair me").sha256
        store.path_of(key).unlink()
        assert store.exists(key) is False
        again = store.put(b"repair me")
        assert again.created is False
        assert store.get(key) == b"repair me"


def test_no_temp_files_left_after_puts(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        for i in range(50):
            store.put(f"blob {i}\n".encode() * (i + 1))
    names = [p.name for p in _files(tmp_path)]
    assert len(names) == 50
    assert all(name.endswith(".zst") and TEMP_MARKER not in name for name in names)


def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    with BlobStore(tmp_path) as store:
        monkeypatch.setattr(os, "replace", broken_replace)
        with pytest.raises(BlobStoreError, match="No space left"):
            store.put(b"will not fit")
        monkeypatch.undo()
        key = content_key(b"will not fit")
        assert _files(tmp_path) == []
        assert store.exists(key) is False
        assert store.stats().blob_count == 0
        assert store.put(b"will not fit").created is True


def test_concurrent_puts_from_threads(tmp_path: Path) -> None:
    payloads = [f"shared payload {i % 10}\n".encode() * 200 for i in range(80)]
    created: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with BlobStore(tmp_path) as store:

        def worker(chunk: list[bytes]) -> None:
            try:
                for data in chunk:
                    result = store.put(data, referrer=f"ref-{len(data)}")
                    assert store.get(result.sha256) == data
                    with lock:
                        created.append(result.created)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(payloads[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(created) == 10
        assert store.stats().blob_count == 10
        assert len(_files(tmp_path)) == 10


def test_reopen_keeps_index(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        key = store.put(b"persisted", referrer="memory-7").sha256
    with BlobStore(tmp_path) as store:
        assert store.get(key) == b"persisted"
        assert store.referrers(key) == ["memory-7"]
        assert store.put(b"persisted").created is False
    journal = (tmp_path / "index.sqlite").read_bytes()[:16]
    assert journal == b"SQLite format 3\x00"


def test_index_is_in_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    with BlobStore(tmp_path):
        conn = sqlite3.connect(tmp_path / "index.sqlite")
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()


def test_public_api() -> None:
    assert set(blobstore.__all__) == {
        "DEFAULT_LEVEL",
        "DEFAULT_MEDIA_TYPE",
        "DEFAULT_PREVIEW_CHARS",
        "DEFAULT_THRESHOLD_CHARS",
        "MAX_SLICE_BYTES",
        "MAX_SLICE_LINES",
        "BlobInfo",
        "BlobSlice",
        "BlobStore",
        "ReadThroughBlobStore",
        "GcResult",
        "OffloadResult",
        "PutResult",
        "StoreStats",
        "content_key",
        "offload_if_large",
        "validate_key",
    }
    for name in blobstore.__all__:
        assert hasattr(blobstore, name), name
    assert blobstore.DEFAULT_LEVEL == 10
    assert (blobstore.MAX_SLICE_LINES, blobstore.MAX_SLICE_BYTES) == (2000, 65536)
