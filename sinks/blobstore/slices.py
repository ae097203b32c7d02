"""Byte-exact slices of a blob's content, by lines (`lines=a:b`) or by bytes (`bytes=a:b`), with caps.

One fetch returns at most `MAX_SLICE_LINES` lines and at most `MAX_SLICE_BYTES` bytes. A request over a cap
is cut to it and the slice says so (`truncated`), with the blob's totals so the caller can page on.

Lines are split on b"\\n" only and keep their endings as stored (b"\\r\\n" stays b"\\r\\n"); a final line
without a newline still counts as a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.errors import BlobStoreError

MAX_SLICE_LINES = 2000
MAX_SLICE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class BlobSlice:
    """A piece of one blob.

    For `unit == "lines"`, `start`..`end` are 1-based inclusive line numbers (`end == start - 1` when no line
    is returned). For `unit == "bytes"`, they are 0-based offsets with `end` exclusive, as in Python slices.
    `truncated` is True when a cap cut the request short; `data` is then the capped prefix of the request.
    """

    sha256: str
    data: bytes
    unit: Literal["lines", "bytes"]
    start: int
    end: int
    total_lines: int
    total_bytes: int
    truncated: bool


def count_lines(data: bytes) -> int:
    """Number of lines: newline count, plus one for a last line that has no newline."""
    if not data:
        return 0
    newlines = data.count(b"\n")
    return newlines if data.endswith(b"\n") else newlines + 1


def _check_range(start: object, end: object, lowest: int, unit: str) -> None:
    if isinstance(start, bool) or not isinstance(start, int) or start < lowest:
        raise BlobStoreError(f"{unit} slice start must be an int >= {lowest}, got {start!r}")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int) or end < start):
        raise BlobStoreError(f"{unit} slice end must be None or an int >= start ({start}), got {end!r}")


def _offset_of_line(data: bytes, line: int) -> int:
    """Byte offset where 1-based `line` starts (len(data) when the blob has fewer lines)."""
    pos = 0
    for _ in range(line - 1):
        newline = data.find(b"\n", pos)
        if newline < 0:
            return len(data)
        pos = newline + 1
    return pos


def slice_lines(sha256: str, data: bytes, start: int, end: int | None = None) -> BlobSlice:
    """Lines `start`..`end` (1-based, inclusive; `end=None` means to the last line) of `data`, capped."""
    _check_range(start, end, 1, "line")
    total_lines = count_lines(data)
    if start > total_lines:
        return BlobSlice(sha256, b"", "lines", start, start - 1, total_lines, len(data), False)
    wanted_end = total_lines if end is None else min(end, total_lines)
    capped_end = min(wanted_end, start + MAX_SLICE_LINES - 1)
    truncated = capped_end < wanted_end
    begin = _offset_of_line(data, start)
    pos, last = begin, start - 1
    while last < capped_end:
        newline = data.find(b"\n", pos)
        line_end = len(data) if newline < 0 else newline + 1
        if line_end - begin > MAX_SLICE_BYTES:
            truncated = True
            if last < start:  # the first line alone is over the byte cap: return its capped prefix
                pos, last = begin + MAX_SLICE_BYTES, start
            break
        pos, last = line_end, last + 1
    return BlobSlice(sha256, data[begin:pos], "lines", start, last, total_lines, len(data), truncated)


def slice_bytes(sha256: str, data: bytes, start: int, end: int | None = None) -> BlobSlice:
    """Bytes `start`..`end` (0-based, end exclusive; `end=None` means to the end) of `data`, capped.

    Offsets past the end are clamped as Python slicing does; the returned `start`/`end` are the clamped ones.
    """
    _check_range(start, end, 0, "byte")
    total = len(data)
    begin = min(start, total)
    wanted_end = total if end is None else min(end, total)
    capped_end = min(wanted_end, begin + MAX_SLICE_BYTES)
    return BlobSlice(
        sha256,
        data[begin:capped_end],
        "bytes",
        begin,
        capped_end,
        count_lines(data),
        total,
        capped_end < wanted_end,
    )


__all__ = ["MAX_SLICE_BYTES", "MAX_SLICE_LINES", "BlobSlice", "count_lines", "slice_bytes", "slice_lines"]
