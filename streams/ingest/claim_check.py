"""The publisher's claim check: turns whose content is too large for an event go to the blob store first.

Content over the threshold (`MEMLANE_SINKS__CLAIM_CHECK_CHARS`, `sinks.blobstore.DEFAULT_THRESHOLD_CHARS` by
default) is stored in the zstd content-addressed blob store; the published turn carries a BlobRef (sha256,
size, media type) and a preview instead of the content. Smaller turns pass through unchanged.

Tool outputs get a lower threshold when a digester is given (`MEMLANE_OFFLOAD__DIGEST_THRESHOLD_CHARS`, 2000):
over it, the output goes to the blob store and the preview is its digest (`processors.offload.digest`: ~200
tokens naming the slices of the blob to fetch, by the local model or extractive, labelled), so no model reads
the whole output unless it fetches it.
"""

from __future__ import annotations

from typing import Protocol

from processors.offload.digest import Digest
from schemas.events import BlobRef, ConversationTurn, Role
from sinks.blobstore import DEFAULT_PREVIEW_CHARS, DEFAULT_THRESHOLD_CHARS, BlobStore, offload_if_large


class Digester(Protocol):
    """Digests a tool output stored as a blob (`ExtractiveDigester`, `OllamaDigester`)."""

    def digest(self, text: str, sha256: str, *, tenant_id: str = "-") -> Digest: ...


class BlobClaimCheck:
    """Offloads large turn content into a `BlobStore` (the `ClaimCheck` of `TurnPublisher`)."""

    def __init__(
        self,
        store: BlobStore,
        *,
        threshold_chars: int = DEFAULT_THRESHOLD_CHARS,
        preview_chars: int = DEFAULT_PREVIEW_CHARS,
        digester: Digester | None = None,
        digest_threshold_chars: int = 2000,
    ) -> None:
        self.store = store
        self.threshold_chars = threshold_chars
        self.preview_chars = preview_chars
        self.digester = digester
        self.digest_threshold_chars = digest_threshold_chars

    def _threshold(self, turn: ConversationTurn) -> int:
        if self.digester is not None and (turn.role == Role.TOOL or turn.tool_name is not None):
            return min(self.threshold_chars, self.digest_threshold_chars)
        return self.threshold_chars

    def offload(self, turn: ConversationTurn) -> ConversationTurn:
        """The same turn when small; a copy carrying a BlobRef and a preview (a digest for tool output) when large."""
        threshold = self._threshold(turn)
        if turn.content is None or len(turn.content) <= threshold:
            return turn
        media_type = "text/x-tool-output" if turn.tool_name or turn.role == Role.TOOL else "text/plain"
        result = offload_if_large(
            self.store,
            turn.content,
            threshold_chars=threshold,
            preview_chars=self.preview_chars,
            media_type=media_type,
            referrer=f"turn:{turn.event_id}",
            tenant_id=turn.tenant_id,
        )
        if not result.offloaded or result.sha256 is None:
            return turn
        preview = result.preview or ""
        if self.digester is not None and media_type == "text/x-tool-output":
            preview = self.digester.digest(turn.content, result.sha256, tenant_id=turn.tenant_id).text
        ref = BlobRef(sha256=result.sha256, size_bytes=result.size_bytes, media_type=media_type, preview=preview)
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
