"""Key validation and path containment: no key from outside may name a file outside the store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.errors import BlobStoreError, MemlaneError
from sinks.blobstore import BlobStore, content_key, validate_key

GOOD = hashlib.sha256(b"x").hexdigest()

ATTACKS = [
    "../" * 10 + "etc/passwd",
    "../../index.sqlite",
    "/etc/passwd",
    "/" + GOOD[1:],
    "..%2f..%2fetc%2fpasswd",
    GOOD.upper(),
    GOOD[:63],
    GOOD + "0",
    GOOD[:62] + "/x",
    GOOD[:60] + "/../",
    GOOD[:63] + "\n",
    GOOD + "\n",
    " " + GOOD[1:],
    GOOD[:63] + "g",
    GOOD[:63] + "\x00",
    "ab/cd/" + GOOD,
    "",
    "\u0661" * 64,  # Arabic-Indic digit one: str.isdigit() says yes, we must say no
]


def test_content_key_is_sha256_of_raw_bytes() -> None:
    assert content_key(b"x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert validate_key(GOOD) == GOOD


@pytest.mark.parametrize("key", ATTACKS)
def test_validate_key_rejects(key: str) -> None:
    with pytest.raises(BlobStoreError, match="invalid blob key"):
        validate_key(key)


@pytest.mark.parametrize("key", [None, 12, b"a" * 64, ["a" * 64]])
def test_validate_key_rejects_non_str(key: object) -> None:
    with pytest.raises(BlobStoreError, match="must be a str"):
        validate_key(key)


@pytest.mark.parametrize("key", ATTACKS)
def test_every_entry_point_rejects_bad_keys(tmp_path: Path, key: str) -> None:
    outside = tmp_path / "etc" / "passwd"
    outside.parent.mkdir()
    outside.write_bytes(b"root:x:0:0")
    with BlobStore(tmp_path / "store") as store:
        calls: list[Callable[[], object]] = [
            lambda: store.get(key),
            lambda: store.slice_lines(key, 1, 10),
            lambda: store.slice_bytes(key, 0, 10),
            lambda: store.stat(key),
            lambda: store.exists(key),
            lambda: store.add_referrer(key, "memory-1"),
            lambda: store.remove_referrer(key, "memory-1"),
            lambda: store.referrers(key),
            lambda: store.path_of(key),
        ]
        for call in calls:
            with pytest.raises(BlobStoreError):
                call()
    assert outside.read_bytes() == b"root:x:0:0"


def test_blob_store_error_is_a_memlane_error() -> None:
    with pytest.raises(MemlaneError):
        validate_key("nope")


def test_sharded_layout(tmp_path: Path) -> None:
    with BlobStore(tmp_path) as store:
        key = store.put(b"sharded").sha256
        assert store.path_of(key) == tmp_path / "objects" / key[:2] / key[2:4] / f"{key}.zst"
        assert store.path_of(key).is_file()


def _content_with_prefix(prefix: str) -> bytes:
    for i in range(100_000):
        data = f"payload-{i}".encode()
        if content_key(data).startswith(prefix):
            return data
    raise AssertionError(f"no content found hashing to prefix {prefix}")


def test_resolved_path_outside_root_is_refused(tmp_path: Path) -> None:
    """Second guard: a shard directory that is a symlink out of the store is caught after resolving."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with BlobStore(tmp_path / "store") as store:
        data = _content_with_prefix("ab")
        os.symlink(elsewhere, tmp_path / "store" / "objects" / "ab")
        with pytest.raises(BlobStoreError, match="outside the store root"):
            store.put(data)
        with pytest.raises(BlobStoreError, match="outside the store root"):
            store.get(content_key(data))
    assert list(elsewhere.iterdir()) == []
