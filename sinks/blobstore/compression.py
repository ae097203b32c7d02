"""zstd framing of blob objects: one dictionary-free frame per object, content size and checksum written.

Compressor and decompressor contexts are not thread-safe, so each thread keeps its own (per level).
zstd errors are translated to `BlobStoreError` here, the one boundary with the zstandard library.
"""

from __future__ import annotations

import threading

import zstandard

from schemas.errors import BlobStoreError

DEFAULT_LEVEL = 10
MIN_LEVEL = 1
MAX_LEVEL = 22

_local = threading.local()


def check_level(level: int) -> int:
    """Return `level` if zstd accepts it (1..22); raise `BlobStoreError` otherwise."""
    if isinstance(level, bool) or not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise BlobStoreError(f"zstd level must be an int in {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")
    return level


def _compressor(level: int) -> zstandard.ZstdCompressor:
    cache: dict[int, zstandard.ZstdCompressor] | None = getattr(_local, "compressors", None)
    if cache is None:
        cache = {}
        _local.compressors = cache
    compressor = cache.get(level)
    if compressor is None:
        compressor = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=True)
        cache[level] = compressor
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor: zstandard.ZstdDecompressor | None = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = zstandard.ZstdDecompressor()
        _local.decompressor = decompressor
    return decompressor


def compress(data: bytes, level: int) -> bytes:
    """One zstd frame holding `data`, with the content size in the frame header."""
    try:
        return _compressor(level).compress(data)
    except zstandard.ZstdError as exc:
        raise BlobStoreError(f"zstd compression failed at level {level}: {exc}") from exc


def decompress(frame: bytes, *, key: str) -> bytes:
    """The bytes inside one frame; a corrupt or truncated frame raises `BlobStoreError` naming `key`."""
    try:
        params = zstandard.get_frame_parameters(frame)
        if params.content_size == zstandard.CONTENTSIZE_UNKNOWN:
            raise BlobStoreError(f"blob {key}: zstd frame has no content size")
        return _decompressor().decompress(frame)
    except zstandard.ZstdError as exc:
        raise BlobStoreError(f"blob {key}: corrupt zstd object ({exc})") from exc


__all__ = ["DEFAULT_LEVEL", "MAX_LEVEL", "MIN_LEVEL", "check_level", "compress", "decompress"]
