"""Claim check for large text: keep small text inline, move large text into the blob store.

`offload_if_large` is what a producer calls on a tool output before it goes on a Kafka event: text of at
most `threshold_chars` characters stays inline; longer text is stored (UTF-8) and replaced by its sha256,
size, media type and a short preview, which the caller maps onto the event's `BlobRef`.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import BlobStoreError

from .blob_store import BlobStore
from .keys import tenant_referrer

DEFAULT_THRESHOLD_CHARS = 6000
DEFAULT_PREVIEW_CHARS = 800


@dataclass(frozen=True, slots=True)
class OffloadResult:
    """Either `inline_text` (small text, nothing stored) or a reference to the stored blob.

    When offloaded: `inline_text` is None, `sha256` names the blob, `size_bytes` is its UTF-8 size and
    `preview` is the first `preview_chars` characters. When inline, `sha256` and `preview` are None and
    `size_bytes` is still the UTF-8 size of the text.
    """

    inline_text: str | None
    sha256: str | None
    size_bytes: int
    media_type: str
    preview: str | None
    created: bool = False

    @property
    def offloaded(self) -> bool:
        return self.sha256 is not None


def offload_if_large(
    store: BlobStore,
    text: str,
    *,
    threshold_chars: int = DEFAULT_THRESHOLD_CHARS,
    preview_chars: int = DEFAULT_PREVIEW_CHARS,
    media_type: str = "text/plain",
    referrer: str | None = None,
    tenant_id: str | None = None,
) -> OffloadResult:
    """Keep `text` inline when it has at most `threshold_chars` characters; otherwise store it in `store`.

    `referrer` (e.g. the request id) is recorded with the blob so GC keeps it; `tenant_id` adds the tenant's
    marker (`tenant_referrer`), without which no search under that tenant's key shows the blob. Text that
    cannot be encoded as UTF-8 (lone surrogates) raises `BlobStoreError`.
    """
    if not isinstance(text, str):
        raise BlobStoreError(f"offload_if_large takes str, got {type(text).__name__}")
    if threshold_chars < 0 or preview_chars < 0:
        raise BlobStoreError(
            f"threshold_chars and preview_chars must be >= 0, got {threshold_chars} and {preview_chars}"
        )
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BlobStoreError(f"text to offload is not valid UTF-8: {exc}") from exc
    if len(text) <= threshold_chars:
        return OffloadResult(
            inline_text=text, sha256=None, size_bytes=len(encoded), media_type=media_type, preview=None
        )
    put = store.put(encoded, media_type=media_type, referrer=referrer)
    if tenant_id is not None:
        store.add_referrer(put.sha256, tenant_referrer(tenant_id))
    return OffloadResult(
        inline_text=None,
        sha256=put.sha256,
        size_bytes=len(encoded),
        media_type=media_type,
        preview=text[:preview_chars],
        created=put.created,
    )


__all__ = ["DEFAULT_PREVIEW_CHARS", "DEFAULT_THRESHOLD_CHARS", "OffloadResult", "offload_if_large"]
