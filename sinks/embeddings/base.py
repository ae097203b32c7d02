"""The `Embedder` contract every embedding backend honours, and the helpers they share.

An embedder turns texts into an `(n, dim)` float32 matrix whose rows are L2-normalised, so a dot
product is a cosine similarity. Backends embed in batches of `batch_size` texts; callers may pass
any number of texts at once. `name` identifies the vector space (model + variant): vectors of two
embedders with different names must never be compared or stored in the same collection.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
"""An `(n, dim)` float32 matrix of embeddings, one L2-normalised row per text."""


def l2_normalise(matrix: npt.NDArray[np.floating], eps: float = 1e-12) -> FloatMatrix:
    """Rows of `matrix` scaled to unit length (zero rows stay zero), as float32."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    scaled: FloatMatrix = (matrix / np.maximum(norms, eps)).astype(np.float32, copy=False)
    return scaled


def batches(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of `texts`, each at most `size` long."""
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


class Embedder(ABC):
    """Texts in, unit-length float32 vectors out. Implementations are safe to call from one thread."""

    batch_size: int = 64

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of every vector this embedder returns."""

    @property
    @abstractmethod
    def name(self) -> str:
        """Stable id of the vector space, e.g. `all-MiniLM-L6-v2-onnx-int8`."""

    @abstractmethod
    def _embed_batch(self, texts: Sequence[str]) -> FloatMatrix:
        """Embed at most `batch_size` texts; rows need not be normalised yet."""

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Embed `texts` in batches: an `(len(texts), dim)` float32 matrix of unit-length rows."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str; wrap it in a list")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._embed_batch(chunk) for chunk in batches(texts, max(1, self.batch_size))]
        matrix = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
        if matrix.shape != (len(texts), self.dim):
            raise ValueError(f"{self.name} returned shape {matrix.shape}, expected {(len(texts), self.dim)}")
        return l2_normalise(matrix)

    def embed_one(self, text: str) -> FloatMatrix:
        """Embed a single text: a `(dim,)` float32 unit vector."""
        row: FloatMatrix = self.embed([text])[0]
        return row

    def close(self) -> None:  # noqa: B027 - optional hook, most embedders hold nothing to release
        """Release what the embedder holds (sessions, HTTP clients)."""


__all__ = ["Embedder", "FloatMatrix", "batches", "l2_normalise"]
