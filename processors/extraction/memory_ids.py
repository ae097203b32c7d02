"""Deterministic identifiers of extraction output: memory ids and batch ids (UUID version 5).

A memory id depends on the tenant, the user, the memory kind and the memory's normalised text only, so the
same memory extracted twice (a replay, a redelivery, another window saying the same thing) gets the same id
and the Qdrant sink overwrites instead of duplicating. A batch id depends on the request id and the extractor,
so a redelivered request produces the same batch while the Claude fallback's batch stays distinct.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

MEMORY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://memlane.dev/ids/memory")
BATCH_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://memlane.dev/ids/batch")

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot be confused with text inside a part
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t.,;:!?\"'`()[]{}"


def identity_text(text: str) -> str:
    """Text as compared for identity: NFKC, case-folded, whitespace collapsed, edge punctuation dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", folded).strip(_EDGE_PUNCTUATION)


def memory_id(tenant_id: str, user_id: str, kind: str, text: str) -> str:
    """The id of a memory of `kind` with `text` for one user of one tenant."""
    name = _SEPARATOR.join((tenant_id, user_id, kind, identity_text(text)))
    return str(uuid.uuid5(MEMORY_NAMESPACE, name))


def batch_id(request_id: str, extractor: str) -> str:
    """The id of the batch `extractor` produced for request `request_id`."""
    return str(uuid.uuid5(BATCH_NAMESPACE, _SEPARATOR.join((request_id, extractor))))


__all__ = ["BATCH_NAMESPACE", "MEMORY_NAMESPACE", "batch_id", "identity_text", "memory_id"]
