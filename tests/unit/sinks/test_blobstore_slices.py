"""Byte-exact slices by lines and bytes, checked against Python slicing of the real data files, and caps."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from evaluation_data import data_missing, shared_data_dir

from schemas.errors import BlobStoreError
from sinks.blobstore import MAX_SLICE_BYTES, MAX_SLICE_LINES, BlobStore
from sinks.blobstore.slices import count_lines, slice_bytes, slice_lines

DATA_DIR = shared_data_dir()


def _real_files() -> list[Path]:
    logs = sorted((DATA_DIR / "loghub_2k").glob("*.log"))
    trajs = sorted((DATA_DIR / "swe_agent_trajs").rglob("*.traj*"))
    if len(logs) < 10 or len(trajs) < 10:
        data_missing("loghub_2k/*.log and swe_agent_trajs/*.traj* (10+ each)")
    return logs + trajs


REAL_FILES = _real_files()


def _lines(data: bytes) -> list[bytes]:
    """Reference split: on b"\\n" only, endings kept, a last line without newline kept."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BlobStore, dict[Path, str]]]:
    store = BlobStore(tmp_path_factory.mktemp("blobs"), level=3)
    keys = {path: store.put(path.read_bytes(), media_type="text/plain").sha256 for path in REAL_FILES}
    yield store, keys
    store.close()


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name[-40:])
def test_byte_slices_match_python_slicing(stored: tuple[BlobStore, dict[Path, str]], path: Path) -> None:
    store, keys = stored
    raw = path.read_bytes()
    key = keys[path]
    size = len(raw)
    assert store.get(key) == raw
    for start, end in [(0, 1), (0, 4096), (size // 3, size // 3 + 12_345), (size - 100, size), (7, 7)]:
        piece = store.slice_bytes(key, start, end)
        assert piece.data == raw[start:end]
        assert (piece.start, piece.end, piece.total_bytes, piece.truncated) == (
            start,
            min(end, size),
            size,
            False,
        )
    whole = store.slice_bytes(key, 0, None)
    assert whole.data == raw[:MAX_SLICE_BYTES]
    assert whole.truncated is (size > MAX_SLICE_BYTES)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name[-40:])
def test_line_slices_match_python_lines(stored: tuple[BlobStore, dict[Path, str]], path: Path) -> None:
    store, keys = stored
    raw = path.read_bytes()
    lines = _lines(raw)
    key = keys[path]
    n = len(lines)
    assert count_lines(raw) == n
    for start, end in [(1, 1), (1, min(n, 40)), (max(1, n // 2), min(n, n // 2 + 25)), (n, n)]:
        piece = store.slice_lines(key, start, end)
        expected = b"".join(lines[start - 1 : end])
        if len(expected) <= MAX_SLICE_BYTES:
            assert piece.data == expected
            assert (piece.start, piece.end, piece.truncated) == (start, end, False)
        else:  # a few trajectory lines are huge: the byte cap applies, the prefix is still exact
            assert piece.truncated is True
            assert expected.startswith(piece.data)
            assert len(piece.data) <= MAX_SLICE_BYTES
        assert piece.total_lines == n
        assert piece.total_bytes == len(raw)


def test_loghub_2000_line_request_is_capped_by_bytes() -> None:
    raw = (DATA_DIR / "loghub_2k" / "HDFS_2k.log").read_bytes()
    lines = _lines(raw)
    assert len(lines) == 2000
    piece = slice_lines("0" * 64, raw, 1, 2000)
    assert piece.truncated is True
    assert 1 <= piece.end < 2000
    assert piece.data == b"".join(lines[: piece.end])
    assert len(piece.data) <= MAX_SLICE_BYTES
    assert len(piece.data) + len(lines[piece.end]) > MAX_SLICE_BYTES  # took every line that fit
    follow = slice_lines("0" * 64, raw, piece.end + 1, 2000)
    assert follow.data == b"".join(lines[piece.end : follow.end])


def test_line_cap_is_2000_lines() -> None:
    raw = b"".join(f"{i}\n".encode() for i in range(1, 5001))
    piece = slice_lines("0" * 64, raw, 10, 4000)
    assert (piece.start, piece.end, piece.truncated) == (10, 10 + MAX_SLICE_LINES - 1, True)
    assert piece.data.splitlines() == [str(i).encode() for i in range(10, 2010)]
    assert piece.total_lines == 5000
    exact = slice_lines("0" * 64, raw, 1, 2000)
    assert (exact.end, exact.truncated) == (2000, False)


def test_byte_cap_is_64_kib() -> None:
    raw = os.urandom(200_000)
    piece = slice_bytes("0" * 64, raw, 1000, 150_000)
    assert piece.data == raw[1000 : 1000 + 65536]
    assert (piece.start, piece.end, piece.total_bytes, piece.truncated) == (1000, 66536, 200_000, True)
    exact = slice_bytes("0" * 64, raw, 0, 65536)
    assert (len(exact.data), exact.truncated) == (65536, False)


def test_single_line_over_byte_cap_returns_its_prefix() -> None:
    raw = b"short\n" + b"x" * 100_000 + b"\nafter\n"
    piece = slice_lines("0" * 64, raw, 2, 3)
    assert piece.data == b"x" * MAX_SLICE_BYTES
    assert (piece.start, piece.end, piece.truncated) == (2, 2, True)


def test_line_endings_are_kept() -> None:
    raw = b"a\r\nb\rstill b\nc"
    assert slice_lines("0" * 64, raw, 1, 1).data == b"a\r\n"
    assert slice_lines("0" * 64, raw, 2, 2).data == b"b\rstill b\n"
    last = slice_lines("0" * 64, raw, 3, 99)
    assert (last.data, last.end, last.total_lines, last.truncated) == (b"c", 3, 3, False)


def test_out_of_range_requests_clamp() -> None:
    raw = b"one\ntwo\n"
    past = slice_lines("0" * 64, raw, 5, 9)
    assert (past.data, past.start, past.end, past.total_lines) == (b"", 5, 4, 2)
    tail = slice_bytes("0" * 64, raw, 6, 100)
    assert (tail.data, tail.start, tail.end) == (b"o\n", 6, 8)
    beyond = slice_bytes("0" * 64, raw, 50, 60)
    assert (beyond.data, beyond.start, beyond.end) == (b"", 8, 8)
    empty = slice_lines("0" * 64, b"", 1, 1)
    assert (empty.data, empty.total_lines, empty.total_bytes) == (b"", 0, 0)


@pytest.mark.parametrize(("start", "end"), [(0, 5), (-1, 5), (3, 2), (True, 2), (1.0, 2)])
def test_bad_line_ranges(start: object, end: object) -> None:
    with pytest.raises(BlobStoreError, match="line slice"):
        slice_lines("0" * 64, b"a\nb\n", start, end)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 4), (0, -1), ("0", 3)])
def test_bad_byte_ranges(start: object, end: object) -> None:
    with pytest.raises(BlobStoreError, match="byte slice"):
        slice_bytes("0" * 64, b"abcdef", start, end)  # type: ignore[arg-type]
