"""`BlobStore`: the public face of the zstd content-addressed blob store.

Layout under `root`:

    objects/ab/cd/<sha256>.zst   one zstd frame per blob, keyed by the sha256 of the raw bytes
    index.sqlite                 WAL index of blobs and their referrers (see `index.py`)

Puts are idempotent (same bytes, same key, stored once). Object files are written inside an index write
transaction, so GC (which holds one too) never deletes a file a concurrent put is about to index. Reads do
not touch the index: they read the object, decompress it and re-hash it, so corruption is always caught.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from schemas.errors import BlobStoreError

from . import compression
from .blob_info import BlobInfo, GcResult, PutResult, StoreStats
from .index import BlobIndex
from .keys import content_key, object_path, validate_key
from .objects import prune_empty_dirs, read_object, remove_object, walk_files, write_atomic
from .slices import BlobSlice, slice_bytes, slice_lines

DEFAULT_MEDIA_TYPE = "application/octet-stream"


class BlobStore:
    """zstd-compressed, sha256-addressed blobs under `root`, with a SQLite index of referrers for GC.

    Safe to share between threads. `clock` (seconds since the epoch) exists for tests of GC ages.
    """

    def __init__(
        self, root: Path, level: int = compression.DEFAULT_LEVEL, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.root = Path(root)
        self.level = compression.check_level(level)
        self._clock = clock
        self._objects = self.root / "objects"
        try:
            self._objects.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BlobStoreError(f"cannot create blob store at {self.root}: {exc}") from exc
        self._index = BlobIndex(self.root / "index.sqlite")

    # lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._index.close()

    def __enter__(self) -> BlobStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def path_of(self, sha256: str) -> Path:
        """Where the object of `sha256` lives (validated; it may not exist)."""
        return object_path(self._objects, sha256)

    # writes ----------------------------------------------------------------------------------------------

    def put(self, data: bytes, *, media_type: str = DEFAULT_MEDIA_TYPE, referrer: str | None = None) -> PutResult:
        """Store `data` under its sha256; `created` is False when the same bytes were already stored.

        A re-put keeps the first media type and refreshes `last_put_at`, so GC will not take a blob that
        was just handed out again. `referrer`, when given, is recorded in the same transaction.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise BlobStoreError(f"blob data must be bytes, got {type(data).__name__}")
        raw = bytes(data)
        key = content_key(raw)
        path = self.path_of(key)
        if self._index.get(key) is not None and path.exists():  # already stored: no compression needed
            with self._index.transaction():
                now = self._clock()
                if self._index.touch(key, now) and path.exists():
                    return self._finish_put(key, referrer, now, created=False)
        frame = compression.compress(raw, self.level)
        with self._index.transaction():
            now = self._clock()
            known = self._index.touch(key, now)
            present = path.exists()
            if not present:  # new blob, or an indexed blob whose object file went missing: (re)write it
                write_atomic(path, frame)
            stored = len(frame) if not present else _file_size(path)
            if not known:
                info = BlobInfo(key, len(raw), stored, media_type, created_at=now, last_put_at=now)
                self._index.insert(info)
            elif not present:
                self._index.set_compressed_size(key, stored)
            return self._finish_put(key, referrer, now, created=not known)

    def _finish_put(self, key: str, referrer: str | None, now: float, *, created: bool) -> PutResult:
        if referrer is not None:
            self._index.add_referrer(key, _check_referrer(referrer), now)
        info = self._index.get(key)
        if info is None:  # pragma: no cover - we hold the write transaction that just wrote the row
            raise BlobStoreError(f"blob {key} vanished from the index during put")
        return PutResult(info=info, created=created)

    def add_referrer(self, sha256: str, referrer: str) -> bool:
        """Record that `referrer` (a memory id, request id, ...) uses the blob; False if already recorded."""
        key = validate_key(sha256)
        with self._index.transaction():
            return self._index.add_referrer(key, _check_referrer(referrer), self._clock())

    def remove_referrer(self, sha256: str, referrer: str) -> bool:
        """Forget one referrer of the blob; False when it was not recorded."""
        key = validate_key(sha256)
        with self._index.transaction():
            return self._index.remove_referrer(key, _check_referrer(referrer))

    def referrers(self, sha256: str) -> list[str]:
        return self._index.referrers(validate_key(sha256))

    # reads -----------------------------------------------------------------------------------------------

    def get(self, sha256: str) -> bytes:
        """The blob's raw bytes, re-hashed after decompression; a mismatch raises `BlobStoreError`."""
        key = validate_key(sha256)
        return verified_blob(key, read_object(self.path_of(key), key=key))

    def slice_lines(self, sha256: str, start: int, end: int | None = None) -> BlobSlice:
        """Lines `start`..`end` (1-based, inclusive), at most 2000 lines and 64 KiB; see `slices.py`."""
        key = validate_key(sha256)
        return slice_lines(key, self.get(key), start, end)

    def slice_bytes(self, sha256: str, start: int, end: int | None = None) -> BlobSlice:
        """Bytes `start`..`end` (0-based, end exclusive), at most 64 KiB; see `slices.py`."""
        key = validate_key(sha256)
        return slice_bytes(key, self.get(key), start, end)

    def exists(self, sha256: str) -> bool:
        """True when the blob is indexed and its object file is present (integrity is not checked)."""
        key = validate_key(sha256)
        return self._index.get(key) is not None and self.path_of(key).exists()

    def stat(self, sha256: str) -> BlobInfo:
        key = validate_key(sha256)
        info = self._index.get(key)
        if info is None:
            raise BlobStoreError(f"blob {key} not found")
        return info

    def stats(self) -> StoreStats:
        return self._index.stats()

    # garbage collection ----------------------------------------------------------------------------------

    def gc(self, min_age_seconds: float) -> GcResult:
        """Remove blobs with no referrer whose last put is at least `min_age_seconds` old.

        Also removes object files missing from the index and temp files of crashed writers, when their
        mtime is as old. Returns how many blobs (and stray files) went and the on-disk bytes freed.
        """
        if isinstance(min_age_seconds, bool) or not isinstance(min_age_seconds, int | float):
            raise BlobStoreError(f"min_age_seconds must be a number, got {min_age_seconds!r}")
        if min_age_seconds < 0:
            raise BlobStoreError(f"min_age_seconds must be >= 0, got {min_age_seconds}")
        removed = freed = 0
        emptied: set[Path] = set()
        with self._index.transaction():
            cutoff = self._clock() - min_age_seconds
            for key in self._index.unreferenced_before(cutoff):
                path = self.path_of(key)
                freed += remove_object(path)
                self._index.delete(key)
                emptied.add(path)
                removed += 1
            for stray in walk_files(self._objects):
                if stray.mtime > cutoff or (stray.key is not None and self._index.get(stray.key) is not None):
                    continue
                freed += remove_object(stray.path)
                emptied.add(stray.path)
                removed += 1
            for path in emptied:
                prune_empty_dirs(path, self._objects)
        return GcResult(removed=removed, bytes_freed=freed)


def verified_blob(key: str, frame: bytes) -> bytes:
    """The raw bytes of the stored `frame` of `key`, decompressed and re-hashed (`BlobStoreError` on a mismatch)."""
    raw = compression.decompress(frame, key=key)
    actual = content_key(raw)
    if actual != key:
        raise BlobStoreError(f"blob {key} failed its integrity check: content hashes to {actual}")
    return raw


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise BlobStoreError(f"cannot stat object {path.name}: {exc}") from exc


def _check_referrer(referrer: object) -> str:
    if not isinstance(referrer, str) or not referrer or len(referrer) > 512:
        raise BlobStoreError(f"referrer must be a non-empty str of at most 512 chars, got {referrer!r}")
    return referrer


__all__ = ["DEFAULT_MEDIA_TYPE", "BlobStore"]
