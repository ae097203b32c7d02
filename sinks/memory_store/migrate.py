"""Bring a store written by an earlier memlane up to date when it is opened.

Stores written before memories carried a context window index BM25 on `text`; search now scores the field
`lexical` (`payload.py`). `backfill_lexical` gives every point without it `lexical = text` (what a memory
without context gets), page by page, once: the backends call it when they create the `lexical` index on a
collection that already holds points. Memories keep the text they had; their context is not rebuilt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from .memory_store import MemoryStore

LEXICAL_FIELD = "lexical"
_log = structlog.get_logger(__name__)


def backfill_lexical(store: MemoryStore, page: int = 512) -> int:
    """Set `lexical` on every point lacking it; returns how many were updated."""
    updated = 0
    offset: str | None = None
    while True:
        found, offset = store._scroll_page([], page, offset)
        for point in found:
            text = point.payload.get("text")
            if LEXICAL_FIELD not in point.payload and isinstance(text, str):
                store._set_payload(point.id, {LEXICAL_FIELD: text})
                updated += 1
        if offset is None or not found:
            break
    if updated:
        store.flush()
        _log.info("memory_store.lexical_backfilled", points=updated)
    return updated


__all__ = ["LEXICAL_FIELD", "backfill_lexical"]
