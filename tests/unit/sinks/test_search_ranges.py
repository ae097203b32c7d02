"""`lines=` / `bytes=` parsing of memory_fetch: the accepted forms, the defaults, and each rejection."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinks.blobstore import MAX_SLICE_LINES, BlobStore
from sinks.search import RangeError, SliceRequest, parse_slice


@pytest.mark.parametrize(
    ("lines", "bytes_", "expected"),
    [
        ("10:20", None, SliceRequest("lines", 10, 20)),
        ("10:", None, SliceRequest("lines", 10, None)),
        (":5", None, SliceRequest("lines", 1, 5)),
        (":", None, SliceRequest("lines", 1, None)),
        (" 3:3 ", None, SliceRequest("lines", 3, 3)),
        (None, "0:4096", SliceRequest("bytes", 0, 4096)),
        (None, ":100", SliceRequest("bytes", 0, 100)),
        (None, "7:7", SliceRequest("bytes", 7, 7)),
        (None, None, SliceRequest("lines", 1, MAX_SLICE_LINES)),
    ],
)
def test_accepted_ranges(lines: str | None, bytes_: str | None, expected: SliceRequest) -> None:
    assert parse_slice(lines, bytes_) == expected


@pytest.mark.parametrize(
    ("lines", "bytes_", "says"),
    [
        ("0:4", None, "numbered from 1"),
        ("9:3", None, "END (3) is before START (9)"),
        ("x", None, "expected lines=START:END"),
        ("1-5", None, "expected lines=START:END"),
        ("1:2:3", None, "expected lines=START:END"),
        ("1" * 19 + ":", None, "expected lines=START:END"),
        (None, "-3:4", "expected bytes=START:END"),
        (None, "5:4", "END (4) is before START (5)"),
        (None, "1.5:2", "expected bytes=START:END"),
        ("1:2", "0:1", "not both"),
    ],
)
def test_rejected_ranges(lines: str | None, bytes_: str | None, says: str) -> None:
    with pytest.raises(RangeError) as caught:
        parse_slice(lines, bytes_)
    assert says in str(caught.value)


def test_a_request_fetches_its_slice(tmp_path: Path) -> None:
    with BlobStore(tmp_path / "blobs") as blobs:
        sha = blobs.put(b"a\nb\r\nc").sha256
        assert parse_slice("2:3", None).fetch(blobs, sha).data == b"b\r\nc"
        assert parse_slice(None, "1:4").fetch(blobs, sha).data == b"\nb\r"
        assert parse_slice("3:", None).fetch(blobs, sha).data == b"c"
