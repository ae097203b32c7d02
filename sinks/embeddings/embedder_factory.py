"""Build the configured `Embedder` from memlane's settings (`MEMLANE_SINKS__EMBEDDER`).

`onnx` (the default) needs nothing but the `memlane[sinks]` extra; `ollama` talks to the server at
`MEMLANE_OLLAMA_URL` with `MEMLANE_SINKS__OLLAMA_EMBED_MODEL`. One ONNX embedder per process is
enough: `shared_onnx_embedder()` caches it, since loading the session costs ~0.3 s and ~60 MB.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sinks.sink_settings import SinkSettings

from .base import Embedder
from .local_models import MINILM, MODELS
from .ollama import OllamaEmbedder
from .onnx import DEFAULT_MODELS_DIR, MAX_TOKENS, OnnxEmbedder


@lru_cache(maxsize=4)
def shared_onnx_embedder(
    model_path: Path | None = None,
    tokenizer_path: Path | None = None,
    batch_size: int = 64,
    max_tokens: int = MAX_TOKENS,
    threads: int = 0,
    *,
    model: str = MINILM.name,
    models_dir: Path = DEFAULT_MODELS_DIR,
) -> OnnxEmbedder:
    """One `OnnxEmbedder` per distinct configuration, shared by every caller in the process."""
    return OnnxEmbedder(
        model=MODELS[model],
        models_dir=models_dir,
        model_path=model_path,
        tokenizer_path=tokenizer_path,
        batch_size=batch_size,
        max_tokens=max_tokens,
        threads=threads,
    )


def build_embedder(sinks: SinkSettings, *, ollama_url: str = "http://127.0.0.1:11434") -> Embedder:
    """The embedder `sinks.embedder` names, configured from `sinks`."""
    if sinks.embedder == "ollama":
        return OllamaEmbedder(
            ollama_url,
            sinks.ollama_embed_model,
            dim=sinks.ollama_embed_dim,
            batch_size=sinks.embed_batch_size,
            timeout_s=sinks.ollama_embed_timeout_s,
        )
    return shared_onnx_embedder(
        sinks.onnx_model_path,
        sinks.onnx_tokenizer_path,
        sinks.embed_batch_size,
        sinks.embed_max_tokens,
        sinks.embed_threads,
        model=sinks.embed_model,
        models_dir=sinks.models_dir,
    )


__all__ = ["build_embedder", "shared_onnx_embedder"]
