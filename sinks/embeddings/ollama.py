"""Embeddings from an Ollama server (`ollama` client, `/api/embed`), e.g. `nomic-embed-text`.

Chosen with `MEMLANE_SINKS__EMBEDDER=ollama`. The vector length is what the model returns; it is
learnt from a probe embedding unless `dim` is given. Ollama's transport and model errors become
`SinkError` (the sink then does not commit the offsets of the batch it was embedding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from schemas.errors import ConfigError, SinkError

from .base import Embedder, FloatMatrix

DEFAULT_MODEL = "nomic-embed-text"


class OllamaEmbedder(Embedder):
    """Batched `client.embed(model, input=[...])` calls; rows are L2-normalised here."""

    def __init__(
        self,
        host: str,
        model: str = DEFAULT_MODEL,
        *,
        dim: int | None = None,
        batch_size: int = 32,
        timeout_s: float = 60.0,
        keep_alive: str | None = "10m",
        client: Any = None,
    ) -> None:
        if client is None:
            try:
                import ollama
            except ImportError as exc:
                raise ImportError(
                    "the Ollama embedder needs the ollama client: pip install 'memlane[extraction]'"
                ) from exc
            client = ollama.Client(host=host, timeout=timeout_s)
        self._client = client
        self._model = model
        self._keep_alive = keep_alive
        self.batch_size = batch_size
        self._dim = dim if dim is not None else int(self._request(["dimension probe"]).shape[1])
        if self._dim <= 0:
            raise ConfigError(f"Ollama model {model!r} returned empty embeddings")

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def name(self) -> str:
        return f"ollama/{self._model}"

    def _request(self, texts: Sequence[str]) -> FloatMatrix:
        try:
            response = self._client.embed(model=self._model, input=list(texts), keep_alive=self._keep_alive)
        except Exception as exc:  # ollama.ResponseError, httpx transport errors, timeouts
            raise SinkError(f"Ollama embed with {self._model!r} failed: {exc}") from exc
        rows = response["embeddings"] if isinstance(response, dict) else response.embeddings
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise SinkError(f"Ollama returned {matrix.shape} embeddings for {len(texts)} texts")
        return matrix

    def _embed_batch(self, texts: Sequence[str]) -> FloatMatrix:
        matrix = self._request(texts)
        if matrix.shape[1] != self._dim:
            raise SinkError(f"Ollama model {self._model!r} returned {matrix.shape[1]} dims, expected {self._dim}")
        return matrix

    def close(self) -> None:
        closer = getattr(getattr(self._client, "_client", None), "close", None)
        if callable(closer):
            closer()


__all__ = ["DEFAULT_MODEL", "OllamaEmbedder"]
