"""The publisher's claim check: turns whose content is too large for an event go to the blob store first.

Content over the threshold (`MEMLANE_SINKS__CLAIM_CHECK_CHARS`, `sinks.blobstore.DEFAULT_THRESHOLD_CHARS` by
default) is stored in the zstd content-addressed blob store; the published turn carries a BlobRef (sha256,
size, media type) and a preview instead of the content. Smaller turns pass through unchanged.
"""

from __future__ import annotations

from schemas.events import BlobRef, ConversationTurn
from sinks.blobstore import DEFAULT_PREVIEW_CHARS, DEFAULT_THRESHOLD_CHARS, BlobStore, offload_if_large


class BlobClaimCheck:
    """Offloads large turn content into a `BlobStore` (the `ClaimCheck` of `TurnPublisher`)."""

    def __init__(
        self,
        store: BlobStore,
        *,
        threshold_chars: int = DEFAULT_THRESHOLD_CHARS,
        preview_chars: int = DEFAULT_PREVIEW_CHARS,
    ) -> None:
        self.store = store
        self.threshold_chars = threshold_chars
        self.preview_chars = preview_chars

    def offload(self, turn: ConversationTurn) -> ConversationTurn:
        """The same turn when small; a copy carrying a BlobRef and a preview when large."""
        if turn.content is None or len(turn.content) <= self.threshold_chars:
            return turn
        media_type = "text/x-tool-output" if turn.tool_name else "text/plain"
        result = offload_if_large(
            self.store,
            turn.content,
            threshold_chars=self.threshold_chars,
            preview_chars=self.preview_chars,
            media_type=media_type,
            referrer=f"turn:{turn.event_id}",
            tenant_id=turn.tenant_id,
        )
        if not result.offloaded or result.sha256 is None:
            return turn
        ref = BlobRef(
            sha256=result.sha256,
            size_bytes=result.size_bytes,
            media_type=media_type,
            preview=result.preview or "",
        )
        return turn.model_copy(update={"content": None, "content_ref": ref})


class TextClaimCheck:
    """The processors' claim check (`processors.emitted.ContentOffload`) over a `BlobStore`."""

    def __init__(
        self,
        store: BlobStore,
        *,
        threshold_chars: int = DEFAULT_THRESHOLD_CHARS,
        preview_chars: int = DEFAULT_PREVIEW_CHARS,
    ) -> None:
        self.store = store
        self.threshold_chars = threshold_chars
        self.preview_chars = preview_chars

    def __call__(self, text: str, *, tenant_id: str, media_type: str, referrer: str) -> BlobRef:
        result = offload_if_large(
            self.store,
            text,
            threshold_chars=0,
            preview_chars=self.preview_chars,
            media_type=media_type,
            referrer=referrer,
            tenant_id=tenant_id,
        )
        assert result.sha256 is not None  # threshold 0: any non-empty text is stored
        return BlobRef(
            sha256=result.sha256, size_bytes=result.size_bytes, media_type=media_type, preview=result.preview or ""
        )


__all__ = ["BlobClaimCheck", "TextClaimCheck"]
