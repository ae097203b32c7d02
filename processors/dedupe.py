"""Dedupe: never send the same facts to the LLM twice.

A turn is an *exact duplicate* when its normalised text (NFKC, case-folded, punctuation dropped, spaces
collapsed) hashes like a recently forwarded turn of the conversation, and a *near duplicate* when its
embedding's cosine similarity reaches `near_duplicate_threshold` (0.85) against a recently forwarded turn or
one of the user's existing memories. Turns shorter than `dedupe_min_tokens` are never deduplicated: "yes" or
"ok" mean something different each time.

Interfaces: `TurnEmbedder` (texts to L2-normalised rows) and `MemoryLookup` (nearest memories of one user); the
production lookup is the sinks' memory store. Shipped here: `RecentMemoryLookup`, an in-memory lookup for
tests and benchmarks, and `HashingEmbedder`, a model-free lexical embedder (hashed words and word pairs) that
catches re-sent and lightly edited text but not paraphrases.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState, decode_vector, encode_vector

Vector = npt.NDArray[np.float32]

_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")


class TurnEmbedder(Protocol):
    """Embeds texts as an (n, d) float32 array whose rows are L2-normalised."""

    def embed(self, texts: Sequence[str]) -> Vector: ...


class MemoryLookup(Protocol):
    """The user's existing memories most similar to `vector`: (memory id, cosine score), best first."""

    def nearest(self, tenant_id: str, user_id: str, vector: Vector, limit: int) -> list[tuple[str, float]]: ...


def normalise_text(text: str) -> str:
    """Text as compared for exact duplicates: NFKC, case-folded, punctuation dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded)).strip()


def content_hash(text: str) -> str:
    """16 hex characters of the SHA-256 of the normalised text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]


class HashingEmbedder:
    """Model-free `TurnEmbedder`: words and word pairs hashed into `dim` signed buckets, then L2-normalised."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> Vector:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORDS.findall(normalise_text(text))
            for feature in (*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))):
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


class RecentMemoryLookup:
    """In-memory `MemoryLookup` (brute-force cosine), for tests and benchmarks."""

    def __init__(self) -> None:
        self._memories: dict[tuple[str, str], dict[str, Vector]] = {}

    def add(self, tenant_id: str, user_id: str, memory_id: str, vector: Vector) -> None:
        self._memories.setdefault((tenant_id, user_id), {})[memory_id] = np.asarray(vector, dtype=np.float32)

    def nearest(self, tenant_id: str, user_id: str, vector: Vector, limit: int) -> list[tuple[str, float]]:
        items = self._memories.get((tenant_id, user_id), {})
        scored = [(memory_id, float(np.dot(stored, vector))) for memory_id, stored in items.items()]
        return sorted(scored, key=lambda item: (-item[1], item[0]))[:limit]


@dataclass(frozen=True)
class DedupeVerdict:
    """What dedupe found for one turn; `reason` is None when the turn is new."""

    content_hash: str
    reason: str | None = None
    similarity: float = 0.0
    matched: str = ""
    """`turn:<index>` of the recent turn repeated, or `memory:<id>` of the existing memory."""
    vector: Vector | None = None

    @property
    def duplicate(self) -> bool:
        return self.reason is not None


class Deduper:
    """Exact and near-duplicate checks against a conversation's recent content and the user's memories."""

    def __init__(
        self,
        settings: ProcessorSettings | None = None,
        embedder: TurnEmbedder | None = None,
        memories: MemoryLookup | None = None,
    ) -> None:
        self._settings = settings or ProcessorSettings()
        self._embedder = embedder
        self._memories = memories

    def exact(self, state: ConversationState, text: str, tokens: int) -> DedupeVerdict:
        """Does `text` repeat a recent forwarded turn word for word? Never for turns under `dedupe_min_tokens`."""
        if tokens < self._settings.dedupe_min_tokens or not normalise_text(text):
            return DedupeVerdict(content_hash="")
        digest = content_hash(text)
        for seen, turn_index in reversed(state.recent_hashes):
            if seen == digest:
                return DedupeVerdict(digest, "exact_duplicate", 1.0, f"turn:{turn_index}")
        return DedupeVerdict(digest)

    def near(
        self, state: ConversationState, verdict: DedupeVerdict, text: str, user_id: str | None = None
    ) -> DedupeVerdict:
        """Refines a new `exact` verdict: does `text` say what a recent turn or a memory already says?"""
        if verdict.duplicate or not verdict.content_hash or self._embedder is None:
            return verdict
        vector = np.asarray(self._embedder.embed([text])[0], dtype=np.float32)
        best = (0.0, "")
        for turn_index, encoded in state.recent_vectors:
            stored = decode_vector(encoded)
            similarity = float(np.dot(stored, vector)) if stored.shape == vector.shape else 0.0
            if similarity > best[0]:  # vectors of another embedder (other dimension) are ignored
                best = (similarity, f"turn:{turn_index}")
        if self._memories is not None:
            user = user_id or state.user_id
            for memory_id, score in self._memories.nearest(
                state.tenant_id, user, vector, self._settings.memory_lookup_limit
            ):
                if score > best[0]:
                    best = (score, f"memory:{memory_id}")
        similarity = round(best[0], 4)
        reason = "near_duplicate" if best[0] >= self._settings.near_duplicate_threshold else None
        return DedupeVerdict(verdict.content_hash, reason, similarity, best[1], vector)

    def remember(self, state: ConversationState, verdict: DedupeVerdict, turn_index: int) -> ConversationState:
        """`state` with a forwarded turn's hash and embedding added to its bounded recent content."""
        if not verdict.content_hash:
            return state
        hashes = (*state.recent_hashes, (verdict.content_hash, turn_index))
        hashes = hashes[max(0, len(hashes) - self._settings.recent_hashes) :]
        vectors = state.recent_vectors
        if verdict.vector is not None and self._settings.recent_vectors > 0:
            vectors = (*vectors, (turn_index, encode_vector(verdict.vector)))
            vectors = vectors[max(0, len(vectors) - self._settings.recent_vectors) :]
        return replace(state, recent_hashes=hashes, recent_vectors=vectors)


__all__ = [
    "DedupeVerdict",
    "Deduper",
    "HashingEmbedder",
    "MemoryLookup",
    "RecentMemoryLookup",
    "TurnEmbedder",
    "content_hash",
    "normalise_text",
]
