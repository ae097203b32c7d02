"""The `lines=a:b` / `bytes=a:b` query parameters of `GET /v1/blobs/{sha}` (memory_fetch), parsed and checked.

    lines=10:20   lines 10 to 20, 1-based and inclusive      lines=10:   line 10 to the end
    bytes=0:4096  bytes 0 to 4095, 0-based and end-exclusive  bytes=:100  the first 100 bytes

At most one of the two may be given; with neither, the first page of lines is served. Whatever is
asked, one fetch returns at most `MAX_SLICE_LINES` lines and `MAX_SLICE_BYTES` bytes: the blob store
cuts a longer request to the cap and marks the slice truncated, so a caller pages on from its end.
A malformed or impossible range raises `RangeError` (HTTP 400) with a message that shows the syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from schemas.errors import SearchError
from sinks.blobstore import MAX_SLICE_BYTES, MAX_SLICE_LINES, BlobSlice, BlobStore

_RANGE = re.compile(r"(\d{0,18}):(\d{0,18})")
_SYNTAX = {
    "lines": "lines=START:END (1-based, END inclusive; either side may be left out), e.g. lines=1:200",
    "bytes": "bytes=START:END (0-based, END exclusive; either side may be left out), e.g. bytes=0:4096",
}


class RangeError(SearchError):
    """A `lines` / `bytes` parameter that cannot be served; the message says why and shows the syntax."""


@dataclass(frozen=True, slots=True)
class SliceRequest:
    """A checked slice request: `end` None means "to the end of the blob" (still capped)."""

    unit: Literal["lines", "bytes"]
    start: int
    end: int | None

    def fetch(self, blobs: BlobStore, sha256: str) -> BlobSlice:
        """The slice of blob `sha256`, capped by the store."""
        if self.unit == "lines":
            return blobs.slice_lines(sha256, self.start, self.end)
        return blobs.slice_bytes(sha256, self.start, self.end)


def _parse(unit: Literal["lines", "bytes"], raw: str) -> SliceRequest:
    match = _RANGE.fullmatch(raw.strip())
    if match is None:
        raise RangeError(f"bad {unit} range {raw[:40]!r}: expected {_SYNTAX[unit]}")
    lowest = 1 if unit == "lines" else 0
    first, last = match.groups()
    start = int(first) if first else lowest
    end = int(last) if last else None
    if start < lowest:
        raise RangeError(f"bad {unit} range {raw!r}: lines are numbered from 1; expected {_SYNTAX[unit]}")
    if end is not None and end < start:
        raise RangeError(f"bad {unit} range {raw!r}: END ({end}) is before START ({start})")
    return SliceRequest(unit, start, end)


def parse_slice(lines: str | None, bytes_: str | None) -> SliceRequest:
    """The slice a request asks for; the first page of lines when it names none."""
    if lines is not None and bytes_ is not None:
        raise RangeError("give either lines=START:END or bytes=START:END, not both")
    if lines is not None:
        return _parse("lines", lines)
    if bytes_ is not None:
        return _parse("bytes", bytes_)
    return SliceRequest("lines", 1, MAX_SLICE_LINES)


__all__ = ["MAX_SLICE_BYTES", "MAX_SLICE_LINES", "RangeError", "SliceRequest", "parse_slice"]
