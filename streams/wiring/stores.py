"""Stores and services built from the settings: embedder, memory store, blob store, publisher, search app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sinks.blobstore import BlobStore, ReadThroughBlobStore
from sinks.embeddings import Embedder, build_embedder
from sinks.memory_store import MemoryStore, open_memory_store
from sinks.sink_settings import SinkSettings
from streams.ingest.claim_check import BlobClaimCheck
from streams.ingest.publisher import TurnPublisher
from streams.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def embedder(settings: Settings) -> Embedder:
    """The configured embedder (`MEMLANE_SINKS__EMBEDDER`)."""
    return build_embedder(settings.sinks, ollama_url=settings.ollama_url)


def memory_store(
    settings: Settings, embedder_: Embedder | None = None, *, sink_settings: SinkSettings | None = None
) -> MemoryStore:
    """The memory store `settings` describe: a Qdrant server with `MEMLANE_QDRANT_URL`, else the embedded shard."""
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return open_memory_store(
        settings.memory_store_url(),
        embedder_ or embedder(settings),
        sink_settings or settings.sinks,
        api_key=api_key,
    )


def blob_store(settings: Settings) -> BlobStore:
    """The blob store every component of this state directory shares (reading through to
    `MEMLANE_BLOB_READ_THROUGH_DIR`, read-only, when set)."""
    if settings.blob_read_through_dir is not None:
        return ReadThroughBlobStore(settings.blob_dir, settings.blob_read_through_dir)
    return BlobStore(settings.blob_dir)


def claim_check(settings: Settings, blobs: BlobStore) -> BlobClaimCheck:
    """The publisher's claim check over `blobs`, with the configured threshold and preview."""
    sinks = settings.sinks
    return BlobClaimCheck(blobs, threshold_chars=sinks.claim_check_chars, preview_chars=sinks.claim_check_preview_chars)


def publisher(settings: Settings, blobs: BlobStore | None = None) -> TurnPublisher:
    """A turn publisher for the configured topics; with `blobs`, large content is claim-checked there."""
    check = claim_check(settings, blobs) if blobs is not None else None
    return TurnPublisher(
        settings.stream_context(), claim_check=check, max_future_s=settings.processors.max_future_event_s
    )


def search_app(settings: Settings, *, store: MemoryStore | None = None, blobs: BlobStore | None = None) -> FastAPI:
    """The search service over `store` and `blobs`, or over the configured stores opened on first use."""
    from sinks.search import SearchServiceConfig, create_app

    config = SearchServiceConfig(
        api_keys=dict(settings.api_keys),
        max_body_bytes=settings.sinks.search_max_body_bytes,
        open_store=lambda: memory_store(settings),
        open_blobs=lambda: blob_store(settings),
    )
    return create_app(config, store=store, blobs=blobs)


__all__ = ["blob_store", "claim_check", "embedder", "memory_store", "publisher", "search_app"]
