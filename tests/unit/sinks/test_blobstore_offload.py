"""Claim check: small text stays inline, large text goes to the store with a preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import BlobStoreError
from sinks.blobstore import BlobStore, content_key, offload_if_large


def test_small_text_stays_inline(tmp_path: Path) -> None:
    text = "\u00e9" * 6000
    with BlobStore(tmp_path) as store:
        result = offload_if_large(store, text)
        assert result.offloaded is False
        assert result.inline_text == text
        assert (result.sha256, result.preview) == (None, None)
        assert result.size_bytes == 12_000
        assert result.media_type == "text/plain"
        assert store.stats().blob_count == 0


def test_large_text_is_offloaded(tmp_path: Path) -> None:
    text = "".join(f"line {i}: caf\u00e9 \u4e2d\n" for i in range(1000))
    encoded = text.encode("utf-8")
    with BlobStore(tmp_path) as store:
        result = offload_if_large(store, text, media_type="text/x-log", referrer="req-42")
        assert result.offloaded is True
        assert result.inline_text is None
        assert result.sha256 == content_key(encoded)
        assert result.size_bytes == len(encoded)
        assert result.preview == text[:800]
        assert result.media_type == "text/x-log"
        assert result.created is True
        assert store.get(result.sha256) == encoded
        assert store.stat(result.sha256).media_type == "text/x-log"
        assert store.referrers(result.sha256) == ["req-42"]
        again = offload_if_large(store, text, referrer="req-43")
        assert (again.sha256, again.created) == (result.sha256, False)
        assert store.referrers(result.sha256) == ["req-42", "req-43"]


def test_threshold_and_preview_are_configurable(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        assert offload_if_large(store, "x" * 10, threshold_chars=10).offloaded is False
        result = offload_if_large(store, "y" * 11, threshold_chars=10, preview_chars=3)
        assert result.offloaded is True
        assert result.preview == "yyy"


def test_unencodable_text_is_refused(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store, pytest.raises(BlobStoreError, match="UTF-8"):
        offload_if_large(store, "bad \ud800 surrogate" * 1000)
