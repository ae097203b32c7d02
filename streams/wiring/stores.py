"""Stores and services built from the settings: embedder, memory store, blob store, publisher, search app."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

import structlog

from schemas.errors import ConfigError, MemlaneError
from sinks.blobstore import BlobStore, ReadThroughBlobStore
from sinks.embeddings import Embedder, build_embedder
from sinks.memory_store import MemoryStore, open_memory_store
from sinks.memory_store.open_store import edge_url
from sinks.sink_settings import SinkSettings
from streams.ingest.claim_check import BlobClaimCheck
from streams.ingest.memory_writer import MemoryWriter
from streams.ingest.publisher import TurnPublisher
from streams.ingest.request_publisher import RequestPublisher
from streams.settings import Settings
from streams.wiring import shard_owner
from streams.wiring.guarded_store import GuardedStore
from streams.wiring.offload import tool_digester

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.get_logger(__name__)


def embedder(settings: Settings) -> Embedder:
    """The configured embedder (`MEMLANE_SINKS__EMBEDDER`)."""
    return build_embedder(settings.sinks, ollama_url=settings.ollama_url)


def memory_store(
    settings: Settings,
    embedder_: Embedder | None = None,
    *,
    sink_settings: SinkSettings | None = None,
    component: str = "memlane",
) -> MemoryStore:
    """The memory store `settings` describe: a Qdrant server with `MEMLANE_QDRANT_URL`, else the embedded shard.

    The embedded shard is claimed for this process (`shard_owner`) as `component`: a second process gets
    an error naming the owner. The store is safe to share between this process's threads."""
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    model, section = embedder_ or embedder(settings), sink_settings or settings.sinks
    if settings.qdrant_url:
        return open_memory_store(settings.memory_store_url(), model, section, api_key=api_key)
    shard = embedded_shard(settings)
    shard_owner.claim(shard, component)
    try:
        inner = open_memory_store(edge_url(shard), model, section)
    except BaseException:
        shard_owner.release(shard)
        raise
    return cast("MemoryStore", GuardedStore(inner, on_close=lambda: shard_owner.release(shard)))


def embedded_shard(settings: Settings) -> Path:
    """The directory of the embedded shard of the configured collection."""
    return (settings.qdrant_dir / settings.sinks.collection).resolve()


def reading_store(settings: Settings, embedder_: Embedder | None = None, *, component: str = "reader") -> MemoryStore:
    """A store to read from: the store itself when no other process owns it, else a copy of its shard.

    The copy (a snapshot: what the owner had flushed when it was taken) is opened from a temporary
    directory and deleted on close, so a reader never disturbs the owner."""
    if settings.qdrant_url:
        return memory_store(settings, embedder_)
    shard = embedded_shard(settings)
    owner = shard_owner.current_owner(shard)
    if owner is None or owner.pid == os.getpid() or not shard.exists():
        return memory_store(settings, embedder_, component=component)
    scratch = Path(tempfile.mkdtemp(prefix="memlane-snapshot-"))
    copy = scratch / shard.name
    last: Exception | None = None
    for _attempt in range(3):  # a file the owner is replacing may vanish under the copy: copy again
        try:
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(shard, copy)
            inner = open_memory_store(edge_url(copy), embedder_ or embedder(settings), settings.sinks)
            break
        except (OSError, MemlaneError) as exc:
            last = exc
    else:
        shutil.rmtree(scratch, ignore_errors=True)
        raise ConfigError(f"cannot read a snapshot of {shard} (owned by pid {owner.pid}): {last}") from last
    log.info("memory_store.snapshot", shard=str(shard), owner_pid=owner.pid, owner=owner.component)
    return cast("MemoryStore", GuardedStore(inner, on_close=lambda: shutil.rmtree(scratch, ignore_errors=True)))


def blob_store(settings: Settings) -> BlobStore:
    """The blob store every component of this state directory shares (reading through to
    `MEMLANE_BLOB_READ_THROUGH_DIR`, read-only, when set)."""
    if settings.blob_read_through_dir is not None:
        return ReadThroughBlobStore(settings.blob_dir, settings.blob_read_through_dir)
    return BlobStore(settings.blob_dir)


def claim_check(settings: Settings, blobs: BlobStore) -> BlobClaimCheck:
    """The publisher's claim check over `blobs`, with the configured threshold and preview."""
    sinks, offload = settings.sinks, settings.offload
    return BlobClaimCheck(
        blobs,
        threshold_chars=sinks.claim_check_chars,
        preview_chars=sinks.claim_check_preview_chars,
        digester=tool_digester(settings) if offload.digest_tool_outputs else None,
        digest_threshold_chars=offload.digest_threshold_chars,
    )


def publisher(settings: Settings, blobs: BlobStore | None = None) -> TurnPublisher:
    """A turn publisher for the configured topics; with `blobs`, large content is claim-checked there."""
    check = claim_check(settings, blobs) if blobs is not None else None
    return TurnPublisher(
        settings.stream_context(), claim_check=check, max_future_s=settings.processors.max_future_event_s
    )


def memory_writer(settings: Settings, *, extractor: str = "api") -> MemoryWriter:
    """Direct memory writes to the configured memories topic (the write API: "api"; `memlane import`: "import")."""
    return MemoryWriter(settings.stream_context(), extractor=extractor)


def request_publisher(settings: Settings) -> RequestPublisher:
    """Summary requests (level-3 compactions) to the configured requests topic."""
    return RequestPublisher(settings.stream_context())


def search_app(settings: Settings, *, store: MemoryStore | None = None, blobs: BlobStore | None = None) -> FastAPI:
    """The search service over `store` and `blobs`, or over the configured stores opened on first use."""
    from sinks.search import SearchServiceConfig, create_app
    from streams.wiring.offload import context_ranker

    config = SearchServiceConfig(
        api_keys=dict(settings.api_keys),
        max_body_bytes=settings.sinks.search_max_body_bytes,
        open_store=lambda: memory_store(settings),
        open_blobs=lambda: blob_store(settings),
        open_writer=lambda: memory_writer(settings),
        write_max_batch=settings.offload.write_max_batch,
        open_ranker=lambda: context_ranker(settings),
        context_candidates=settings.offload.context_candidates,
        context_top_n=settings.offload.context_top_n,
        open_compactor=lambda: request_publisher(settings),
    )
    return create_app(config, store=store, blobs=blobs)


__all__ = [
    "blob_store",
    "claim_check",
    "embedded_shard",
    "embedder",
    "memory_store",
    "memory_writer",
    "publisher",
    "reading_store",
    "request_publisher",
    "search_app",
]
