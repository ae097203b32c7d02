"""The SQLite index of a blob store (`<root>/index.sqlite`, WAL): blob metadata and who refers to each blob.

One connection serves every thread, guarded by a re-entrant lock; write transactions are `BEGIN IMMEDIATE`
so they also serialise with other processes using the same store. sqlite3 errors become `BlobStoreError`.

    blobs(sha, size, compressed_size, media_type, created_at, last_put_at)
    referrers(sha -> blobs.sha ON DELETE CASCADE, referrer, created_at)   primary key (sha, referrer)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from schemas.errors import BlobStoreError

from .blob_info import BlobInfo, StoreStats

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    sha TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    compressed_size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_put_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS referrers (
    sha TEXT NOT NULL REFERENCES blobs(sha) ON DELETE CASCADE,
    referrer TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (sha, referrer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blobs_last_put_at ON blobs(last_put_at);
"""

_COLUMNS = "sha, size, compressed_size, media_type, created_at, last_put_at"


def _info(row: tuple[str, int, int, str, float, float]) -> BlobInfo:
    return BlobInfo(
        sha256=row[0],
        size_bytes=row[1],
        compressed_bytes=row[2],
        media_type=row[3],
        created_at=row[4],
        last_put_at=row[5],
    )


class BlobIndex:
    """Blob and referrer rows. Call `transaction()` around any read-modify-write sequence."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        try:
            conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BlobStoreError(f"cannot open blob index {path}: {exc}") from exc
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the index lock and one immediate write transaction; commit on success, roll back on error."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise BlobStoreError(f"blob index is unavailable: {exc}") from exc
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException as exc:
                with suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise BlobStoreError(f"blob index transaction failed: {exc}") from exc
                raise

    def _execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise BlobStoreError(f"blob index query failed: {exc}") from exc

    def get(self, sha: str) -> BlobInfo | None:
        row = self._execute(f"SELECT {_COLUMNS} FROM blobs WHERE sha = ?", (sha,)).fetchone()
        return None if row is None else _info(row)

    def touch(self, sha: str, now: float) -> bool:
        """Move `last_put_at` of a known blob to `now`; False when the blob is not in the index."""
        return self._execute("UPDATE blobs SET last_put_at = ? WHERE sha = ?", (now, sha)).rowcount == 1

    def insert(self, info: BlobInfo) -> None:
        self._execute(
            f"INSERT INTO blobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                info.sha256,
                info.size_bytes,
                info.compressed_bytes,
                info.media_type,
                info.created_at,
                info.last_put_at,
            ),
        )

    def set_compressed_size(self, sha: str, compressed_size: int) -> None:
        self._execute("UPDATE blobs SET compressed_size = ? WHERE sha = ?", (compressed_size, sha))

    def add_referrer(self, sha: str, referrer: str, now: float) -> bool:
        """Record that `referrer` uses `sha`; False when it was already recorded."""
        with self._lock:
            if self.get(sha) is None:
                raise BlobStoreError(f"blob {sha} not found: cannot add referrer {referrer!r}")
            sql = "INSERT OR IGNORE INTO referrers (sha, referrer, created_at) VALUES (?, ?, ?)"
            return self._execute(sql, (sha, referrer, now)).rowcount == 1

    def remove_referrer(self, sha: str, referrer: str) -> bool:
        sql = "DELETE FROM referrers WHERE sha = ? AND referrer = ?"
        return self._execute(sql, (sha, referrer)).rowcount == 1

    def referrers(self, sha: str) -> list[str]:
        rows = self._execute("SELECT referrer FROM referrers WHERE sha = ? ORDER BY referrer", (sha,))
        return [row[0] for row in rows.fetchall()]

    def unreferenced_before(self, cutoff: float) -> list[str]:
        """Keys of blobs nobody refers to whose last put is at or before `cutoff`."""
        sql = (
            "SELECT sha FROM blobs WHERE last_put_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM referrers r WHERE r.sha = blobs.sha)"
        )
        return [row[0] for row in self._execute(sql, (cutoff,)).fetchall()]

    def delete(self, sha: str) -> None:
        self._execute("DELETE FROM blobs WHERE sha = ?", (sha,))

    def stats(self) -> StoreStats:
        sql = "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(compressed_size), 0) FROM blobs"
        count, raw, compressed = self._execute(sql).fetchone()
        return StoreStats(blob_count=int(count), raw_bytes=int(raw), compressed_bytes=int(compressed))


__all__ = ["BlobIndex"]
