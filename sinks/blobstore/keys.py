"""Content addresses: sha256 keys, their validation, and where each key lives on disk.

A key is the lowercase hex sha256 of the *uncompressed* bytes. Every key that comes from outside the store
goes through `validate_key` (exactly 64 lowercase hex characters, nothing else), and every object path is
checked once more after resolving it, so no key can name a file outside `<root>/objects`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from schemas.errors import BlobStoreError

KEY_LENGTH = 64
TENANT_REFERRER_PREFIX = "tenant:"
"""Blobs are content-addressed and shared; a tenant sees a blob only when it carries `tenant:<tenant_id>`."""
OBJECT_SUFFIX = ".zst"
_KEY_RE = re.compile(r"[0-9a-f]{64}")


def tenant_referrer(tenant_id: str) -> str:
    """The referrer that makes a blob visible to `tenant_id` (added by whoever stored it for that tenant)."""
    return f"{TENANT_REFERRER_PREFIX}{tenant_id}"


def content_key(data: bytes) -> str:
    """The store key of `data`: hex sha256 of the raw (uncompressed) bytes."""
    return hashlib.sha256(data).hexdigest()


def validate_key(key: object) -> str:
    """Return `key` if it is exactly 64 lowercase hex characters; raise `BlobStoreError` otherwise."""
    if not isinstance(key, str):
        raise BlobStoreError(f"blob key must be a str of 64 lowercase hex characters, got {type(key).__name__}")
    if _KEY_RE.fullmatch(key) is None:
        shown = key if len(key) <= 80 else key[:77] + "..."
        raise BlobStoreError(
            f"invalid blob key {shown!r} ({len(key)} chars): expected 64 lowercase hex characters (a sha256)"
        )
    return key


def object_path(objects_root: Path, key: str) -> Path:
    """`<objects_root>/ab/cd/<key>.zst` for a validated key, guaranteed to resolve inside `objects_root`."""
    key = validate_key(key)
    path = objects_root / key[:2] / key[2:4] / f"{key}{OBJECT_SUFFIX}"
    root_resolved = objects_root.resolve()
    if not path.resolve().is_relative_to(root_resolved):
        raise BlobStoreError(f"blob key {key} resolves outside the store root {root_resolved}")
    return path


def key_from_object_name(name: str) -> str | None:
    """The key of an object file name (`<key>.zst`), or None when the name is not an object of ours."""
    if not name.endswith(OBJECT_SUFFIX):
        return None
    stem = name[: -len(OBJECT_SUFFIX)]
    return stem if _KEY_RE.fullmatch(stem) else None


__all__ = [
    "KEY_LENGTH",
    "OBJECT_SUFFIX",
    "content_key",
    "key_from_object_name",
    "object_path",
    "validate_key",
]
