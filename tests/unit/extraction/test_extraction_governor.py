"""The token governor with the real blob store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from extraction_support import request_of, turn

from processors.extraction.governor import GovernorMode, TokenGovernor, render_pointer
from processors.extraction.prompt import render_window
from schemas.events import BlobRef, ExtractionRequest, Role
from sinks.blobstore import BlobSlice, BlobStore


class CountingReader:
    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.calls: list[tuple[str, int, int | None]] = []

    def slice_bytes(self, sha256: str, start: int, end: int | None = None) -> BlobSlice:
        self.calls.append((sha256, start, end))
        return self.store.slice_bytes(sha256, start, end)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[BlobStore]:
    with BlobStore(tmp_path / "blobs") as store:
        yield store


def put(store: BlobStore, data: bytes, *, size: int | None = None) -> BlobRef:
    sha = store.put(data).sha256
    return BlobRef(sha256=sha, size_bytes=len(data) if size is None else size, preview=data[:40].decode())


def tool_request(*refs: BlobRef, context: tuple[BlobRef, ...] = ()) -> ExtractionRequest:
    turns = [turn(0, "Please run the test suite now.")]
    turns += [turn(i + 1, None, role=Role.TOOL, content_ref=ref) for i, ref in enumerate(refs)]
    return request_of(turns, context_refs=context)


def lines(n: int, width: int = 40) -> bytes:
    return b"".join(f"{i:06d} ".encode().ljust(width - 1, b"x") + b"\n" for i in range(n))


def test_small_window_pulls_blobs_whole_in_slices(store: BlobStore) -> None:
    data = lines(4000)  # 160 KB: three 64 KiB slices; 40k tokens at 4 chars per token
    reader = CountingReader(store)
    governor = TokenGovernor(reader, warn_tokens=50_000, pointer_tokens=60_000)
    ref = put(store, data)
    governed = governor.govern(tool_request(ref))
    assert governed.mode is GovernorMode.FULL and governed.warnings == ()
    assert governed.blobs[ref.sha256] == data.decode()
    assert len(reader.calls) == 3
    assert governed.prompt_tokens >= len(data) // 4


def test_default_thresholds_warn_above_20k_and_point_above_40k(store: BlobStore) -> None:
    governor = TokenGovernor(store)
    assert (governor.warn_tokens, governor.pointer_tokens) == (20_000, 40_000)
    under = put(store, lines(1900))  # ~19k tokens
    warn = put(store, lines(3000))  # ~30k tokens
    over = put(store, lines(4200))  # ~42k tokens
    assert governor.govern(tool_request(under)).mode is GovernorMode.FULL
    warned = governor.govern(tool_request(warn))
    assert warned.mode is GovernorMode.WARN
    assert warned.blobs[warn.sha256].endswith("002999 ".ljust(39, "x") + "\n")  # still pulled whole
    assert any("> 20000" in w for w in warned.warnings)
    pointed = governor.govern(tool_request(over))
    assert pointed.mode is GovernorMode.POINTERS
    assert pointed.blobs[over.sha256] == render_pointer(over)


def test_pointers_only_reads_nothing_and_renders_sha_size_and_preview(store: BlobStore) -> None:
    reader = CountingReader(store)
    governor = TokenGovernor(reader, warn_tokens=10, pointer_tokens=20)
    ref = put(store, lines(100))
    context = put(store, b"context notes " * 20)
    governed = governor.govern(tool_request(ref, context=(context,)))
    assert governed.mode is GovernorMode.POINTERS and reader.calls == []
    pointer = governed.blobs[ref.sha256]
    assert re.fullmatch(rf"\[blob sha256={ref.sha256}, {ref.size_bytes} bytes, text/plain, preview: .+\]", pointer)
    window = render_window(tool_request(ref, context=(context,)), governed)
    assert pointer in window and f"[context blob sha256={context.sha256}]" in window


def test_pulling_stops_at_the_pointer_budget_when_sizes_understate(store: BlobStore) -> None:
    data = lines(100)  # 4000 bytes, declared as 40
    ref = put(store, data, size=40)
    governor = TokenGovernor(store, warn_tokens=5, pointer_tokens=200)
    governed = governor.govern(tool_request(ref))
    text = governed.blobs[ref.sha256]
    assert governed.mode is GovernorMode.WARN
    assert text.startswith(data[:100].decode()) and "[... truncated: " in text
    assert any("cut at" in w for w in governed.warnings)
    assert governed.prompt_tokens <= 200 + 30  # the budget plus the truncation marker


def test_missing_blob_degrades_to_its_pointer(store: BlobStore) -> None:
    ghost = BlobRef(sha256="ab" * 32, size_bytes=100, preview="gone")
    governed = TokenGovernor(store).govern(tool_request(ghost))
    assert governed.blobs[ghost.sha256] == render_pointer(ghost)
    assert any("unreadable" in w for w in governed.warnings)


def test_without_a_reader_blobs_are_pointers() -> None:
    ref = BlobRef(sha256="cd" * 32, size_bytes=10, preview="tiny")
    governed = TokenGovernor(None).govern(tool_request(ref))
    assert governed.mode is GovernorMode.FULL and governed.blobs[ref.sha256] == render_pointer(ref)
