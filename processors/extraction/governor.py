"""Token governor: decides how much offloaded content (blob store) goes into an extraction prompt.

A window's inline text is always sent; large tool outputs arrive as `BlobRef`s (on turns, and as the
request's `context_refs`). The governor estimates the whole window as if every blob were inlined:

    estimate <= warn_tokens            full      every blob is pulled, slice by slice
    warn < estimate <= pointer_tokens  warn      same, with a warning on the outcome and in the log
    estimate > pointer_tokens          pointers  no blob is read; each becomes
                                                 `[blob sha256=..., N bytes, preview: ...]`

Pulling stops when the prompt reaches its limit (blob sizes can understate text once decoded), and
an unreadable blob degrades to its pointer. The limit is `pointer_tokens`, or less when the model's context is
smaller (`max_prompt_tokens`: what the model can read, less what the system prompt and the answer take): then
a window whose inline text alone would not fit has its longest turns cut (each turn keeps at least as much as
the others, the cut marked in the text), so the prompt sent never exceeds the model's context. Each turn's
header in the prompt is counted (`TURN_OVERHEAD_TOKENS`). Blobs are read through `BlobReader`, a Protocol the
blob store's `BlobStore.slice_bytes` satisfies; a slice is at most 64 KiB, so large blobs take several reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import structlog

from processors.extraction.extraction_settings import ExtractionSettings
from schemas.errors import MemlaneError
from schemas.events import BlobRef, ExtractionRequest

log = structlog.get_logger(__name__)


class BlobSliceLike(Protocol):
    """What the governor reads from one slice."""

    @property
    def data(self) -> bytes: ...

    @property
    def total_bytes(self) -> int: ...


class BlobReader(Protocol):
    """Byte slices of a blob: `start` 0-based, `end` exclusive (None: to the end), capped by the store."""

    def slice_bytes(self, sha256: str, start: int, end: int | None = None) -> BlobSliceLike: ...


class GovernorMode(StrEnum):
    FULL = "full"
    WARN = "warn"
    POINTERS = "pointers"


TURN_OVERHEAD_TOKENS = 24
"""What a turn's header line in the prompt costs (`[turn id=... index=... role=... speaker=...]`)."""


@dataclass(frozen=True, slots=True)
class GovernedWindow:
    """The governor's verdict: mode, token estimates, the text to show for each blob (by sha256), and the
    inline turn contents it had to cut to fit (by event id)."""

    mode: GovernorMode
    estimated_tokens: int
    prompt_tokens: int
    blobs: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    contents: Mapping[str, str] = field(default_factory=dict)


def chars_to_tokens(text: str, chars_per_token: float = 4.0) -> int:
    """Rough token count of text not yet seen by a tokenizer."""
    return math.ceil(len(text) / chars_per_token) if text else 0


CUT_MARK = " [... {n} more characters not shown: the whole turn is in the request's window blob]"


def render_pointer(ref: BlobRef, preview_chars: int = 160) -> str:
    """The placeholder of a blob not pulled into the prompt."""
    preview = " ".join(ref.preview.split())[:preview_chars]
    return f"[blob sha256={ref.sha256}, {ref.size_bytes} bytes, {ref.media_type}, preview: {preview}]"


class TokenGovernor:
    """Applies the warn / pointers-only thresholds to one request at a time."""

    @classmethod
    def from_settings(
        cls, settings: ExtractionSettings, reader: BlobReader | None, *, max_prompt_tokens: int | None = None
    ) -> TokenGovernor:
        """The governor `settings` configure, reading blobs through `reader` (None: pointers only)."""
        return cls(
            reader,
            warn_tokens=settings.governor_warn_tokens,
            pointer_tokens=settings.governor_pointer_tokens,
            chars_per_token=settings.chars_per_token,
            preview_chars=settings.pointer_preview_chars,
            max_prompt_tokens=max_prompt_tokens,
        )

    def __init__(
        self,
        reader: BlobReader | None,
        *,
        warn_tokens: int = 20_000,
        pointer_tokens: int = 40_000,
        chars_per_token: float = 4.0,
        preview_chars: int = 160,
        max_prompt_tokens: int | None = None,
    ) -> None:
        self._reader = reader
        self.warn_tokens = warn_tokens
        self.pointer_tokens = pointer_tokens
        self.chars_per_token = chars_per_token
        self.preview_chars = preview_chars
        self.limit = min(pointer_tokens, max_prompt_tokens) if max_prompt_tokens is not None else pointer_tokens
        """The most tokens the window part of a prompt may take."""

    def _tokens(self, text: str) -> int:
        return chars_to_tokens(text, self.chars_per_token)

    def blob_refs(self, request: ExtractionRequest) -> dict[str, BlobRef]:
        """The distinct blobs a request refers to, in order of appearance (turns first)."""
        refs: dict[str, BlobRef] = {}
        for turn in request.turns:
            if turn.content is None and turn.content_ref is not None:
                refs.setdefault(turn.content_ref.sha256, turn.content_ref)
        for ref in request.context_refs:
            refs.setdefault(ref.sha256, ref)
        return refs

    def govern(self, request: ExtractionRequest, *, limit: int | None = None) -> GovernedWindow:
        """The verdict for `request`; `limit` (tokens) lowers this governor's limit for it (the answer's room
        in the model's context depends on the window)."""
        limit = self.limit if limit is None else min(self.limit, limit)
        refs = self.blob_refs(request)
        overhead = TURN_OVERHEAD_TOKENS * (len(request.turns) + len(refs))
        inline = sum(self._tokens(t.content or "") for t in request.turns)
        blob_tokens = sum(math.ceil(ref.size_bytes / self.chars_per_token) for ref in refs.values())
        estimate = overhead + inline + blob_tokens
        warnings: list[str] = []
        if estimate > limit:
            mode = GovernorMode.POINTERS
            warnings.append(f"window ~{estimate} tokens > {limit}: blobs sent as pointers only")
        elif estimate > self.warn_tokens:
            mode = GovernorMode.WARN
            warnings.append(f"window ~{estimate} tokens > {self.warn_tokens}: large prompt")
        else:
            mode = GovernorMode.FULL
        texts: dict[str, str] = {}
        for sha, ref in refs.items():
            if mode is GovernorMode.POINTERS or self._reader is None:
                texts[sha] = render_pointer(ref, self.preview_chars)
        pointer_tokens = sum(self._tokens(text) for text in texts.values())
        contents = self._fit_inline(request, limit - overhead - pointer_tokens, warnings)
        used = (
            overhead
            + pointer_tokens
            + sum(self._tokens(contents.get(t.event_id, t.content or "")) for t in request.turns)
        )
        for sha, ref in refs.items():
            if sha not in texts:
                texts[sha], note = self._pull(ref, limit - used)
                if note:
                    warnings.append(note)
                used += self._tokens(texts[sha])
        for warning in warnings:
            log.warning("governor.warning", request_id=request.request_id, warning=warning)
        return GovernedWindow(mode, estimate, used, texts, tuple(warnings), contents)

    def _fit_inline(self, request: ExtractionRequest, budget_tokens: int, warnings: list[str]) -> dict[str, str]:
        """Inline turn contents cut so that together they fit `budget_tokens` (none cut when they fit).

        Every turn keeps up to one cap of characters, the cap as large as the budget allows, so short turns
        stay whole and the longest ones lose their tails.
        """
        texts = {t.event_id: t.content for t in request.turns if t.content}
        budget_chars = max(0, int(budget_tokens * self.chars_per_token))
        if sum(len(text) for text in texts.values()) <= budget_chars:
            return {}
        low, high = 0, max(len(text) for text in texts.values())
        while low < high:  # the largest per-turn cap whose total fits
            cap = (low + high + 1) // 2
            if sum(min(len(text), cap) for text in texts.values()) <= budget_chars:
                low = cap
            else:
                high = cap - 1
        cut = {
            event_id: text[: max(0, low - len(CUT_MARK) - 12)]
            + CUT_MARK.format(n=len(text) - max(0, low - len(CUT_MARK) - 12))
            for event_id, text in texts.items()
            if len(text) > low
        }
        warnings.append(f"{len(cut)} turn(s) cut to {low} characters to fit {budget_tokens} tokens")
        return cut

    def _pull(self, ref: BlobRef, budget_tokens: int) -> tuple[str, str | None]:
        """The blob's text, read slice by slice within `budget_tokens`; its pointer when unreadable."""
        assert self._reader is not None
        budget_bytes = max(0, int(budget_tokens * self.chars_per_token))
        chunks: list[bytes] = []
        read, total = 0, ref.size_bytes
        try:
            while read < min(total, budget_bytes):
                piece = self._reader.slice_bytes(ref.sha256, read, min(total, budget_bytes))
                total = piece.total_bytes
                if not piece.data:
                    break
                chunks.append(piece.data)
                read += len(piece.data)
        except (MemlaneError, OSError) as exc:
            pointer = render_pointer(ref, self.preview_chars)
            return pointer, f"blob {ref.sha256[:12]} unreadable ({exc}); sent as a pointer"
        text = b"".join(chunks).decode("utf-8", errors="replace")
        if read >= total:
            return text, None
        marker = f"\n[... truncated: {total - read} more bytes in blob sha256={ref.sha256}]"
        return text + marker, f"blob {ref.sha256[:12]} cut at {read} of {total} bytes (token budget)"


__all__ = [
    "TURN_OVERHEAD_TOKENS",
    "BlobReader",
    "BlobSliceLike",
    "GovernedWindow",
    "GovernorMode",
    "TokenGovernor",
    "chars_to_tokens",
    "render_pointer",
]
