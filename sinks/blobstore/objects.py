"""Object files on disk: atomic writes, reads, deletes and the walk GC uses to find strays.

A write goes to a temp file in the object's own directory, is fsynced, then `os.replace`d onto its final
name and the directory is fsynced, so a reader sees either no object or the whole object, never part of
one. Temp files carry `TEMP_MARKER` in their name; GC removes old ones a crashed writer left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import BlobStoreError

from .keys import key_from_object_name

TEMP_MARKER = ".tmp-"


@dataclass(frozen=True, slots=True)
class StrayFile:
    """A file under `objects/` that is a temp file or an object; `key` is None for temp files."""

    path: Path
    key: str | None
    mtime: float
    size: int


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` all-or-nothing: temp file in the same dir, fsync, `os.replace`, fsync dir."""
    directory = path.parent
    try:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{path.name}{TEMP_MARKER}", dir=directory)
    except OSError as exc:
        raise BlobStoreError(f"cannot create object file in {directory}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        _fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise BlobStoreError(f"cannot write object {path.name}: {exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def read_object(path: Path, *, key: str) -> bytes:
    """The stored (compressed) bytes of `key`; a missing object raises `BlobStoreError`."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise BlobStoreError(f"blob {key} not found") from exc
    except OSError as exc:
        raise BlobStoreError(f"blob {key}: cannot read object file: {exc}") from exc


def remove_object(path: Path) -> int:
    """Delete an object file; return the bytes it held (0 when it was already gone)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise BlobStoreError(f"cannot delete object {path.name}: {exc}") from exc
    return size


def prune_empty_dirs(path: Path, objects_root: Path) -> None:
    """Remove the now-empty shard directories above a deleted object, up to (not including) the root."""
    directory = path.parent
    while directory != objects_root and directory.is_relative_to(objects_root):
        try:
            directory.rmdir()
        except OSError:  # not empty (or already gone): stop climbing
            return
        directory = directory.parent


def walk_files(objects_root: Path) -> Iterator[StrayFile]:
    """Every object and temp file under `objects_root`; other files are ignored."""
    if not objects_root.is_dir():
        return
    for dirpath, _dirnames, filenames in os.walk(objects_root):
        for name in filenames:
            key = key_from_object_name(name)
            if key is None and TEMP_MARKER not in name:
                continue
            path = Path(dirpath) / name
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            yield StrayFile(path=path, key=key, mtime=info.st_mtime, size=info.st_size)


__all__ = [
    "TEMP_MARKER",
    "StrayFile",
    "prune_empty_dirs",
    "read_object",
    "remove_object",
    "walk_files",
    "write_atomic",
]
