"""Blob sink: keeps the raw extraction windows that memories point to (`extraction.requests` -> blob store).

For every `ExtractionRequest` it stores `window_document(request)` (media type `WINDOW_MEDIA_TYPE`)
in the zstd content-addressed blob store, with the request id as referrer, so the sha256 a memory's
`lineage.window_blob` names can be fetched back in slices. Content addressing makes it idempotent:
a replayed request puts the same bytes under the same key, and the store keeps them once.

Each blob the sink touches (the window, and the offloaded turn contents the window refers to when
they live in the same store) also gets the referrer `tenant:<tenant_id>` (`sinks.search.tenancy`): the search service
shows a tenant only blobs carrying its marker, and GC keeps them while the marker stays.

`BlobStore.put` is durable when it returns (fsynced object, synchronous SQLite index), so `flush()`
has nothing left to do before `streams.kafka.loop` commits. Undecodable requests go to quarantine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Message

from schemas.codec import EventCodec, codec_for
from schemas.errors import CodecError, ValidationError
from schemas.events import ExtractionRequest
from sinks.blobstore import BlobStore
from sinks.search.tenancy import tenant_referrer
from streams.kafka.loop import ConsumerLoop, worker_loop
from streams.kafka.parking import quarantine
from streams.kafka.producer import ReliableProducer
from streams.metrics import BLOBS_WRITTEN
from streams.settings import Settings
from streams.windows import WINDOW_MEDIA_TYPE, window_document

log = structlog.get_logger(__name__)

GROUP_ID = "memlane-sink-blobs"
BATCH_SIZE = 200
COMPONENT = "sink-blobs"
_MAX_REFERRER = 512


def blob_store_for(settings: Settings) -> BlobStore:
    """The blob store every component shares: `<data_dir>/blobs`."""
    return BlobStore(settings.blob_dir)


@dataclass
class BlobSinkCounts:
    created: int = 0
    existing: int = 0
    content_refs: int = 0
    quarantined: int = 0


def check_request(request: ExtractionRequest) -> None:
    """Raise `ValidationError` for a request whose window could never be stored with its referrers."""
    if not request.request_id or len(request.request_id) > _MAX_REFERRER:
        raise ValidationError(f"request id must have 1-{_MAX_REFERRER} characters", field="request_id")
    if not request.tenant_id or len(tenant_referrer(request.tenant_id)) > _MAX_REFERRER:
        raise ValidationError("request has no usable tenant_id", field="tenant_id")


class BlobSinkHandler:
    """Stores the window of every decoded request; the blob store's writes are durable on return."""

    def __init__(
        self,
        settings: Settings,
        blobs: BlobStore,
        producer: ReliableProducer,
        *,
        codec: EventCodec | None = None,
    ) -> None:
        self.settings = settings
        self.blobs = blobs
        self.producer = producer
        self.codec = codec or codec_for(settings.schema_registry_url, settings.schema_registry_config())
        self.counts = BlobSinkCounts()

    def process(self, batch: Sequence[Message]) -> None:
        topics = self.settings.topics
        for message in batch:
            try:
                request = self.codec.decode(message.value() or b"", ExtractionRequest, topics.requests)
                check_request(request)
            except (CodecError, ValidationError) as exc:
                stage = "sink_blobs.decode" if isinstance(exc, CodecError) else "sink_blobs.validate"
                quarantine(self.producer, topics.quarantine, message, stage=stage, error=exc)
                self.counts.quarantined += 1
                continue
            self.store_window(request)

    def store_window(self, request: ExtractionRequest) -> str:
        """Put the request's window (and mark its offloaded contents) for its tenant; returns the sha256."""
        marker = tenant_referrer(request.tenant_id)
        result = self.blobs.put(window_document(request), media_type=WINDOW_MEDIA_TYPE, referrer=request.request_id)
        self.blobs.add_referrer(result.sha256, marker)
        BLOBS_WRITTEN.labels(created=str(result.created).lower()).inc()
        if result.created:
            self.counts.created += 1
        else:
            self.counts.existing += 1
        refs = {turn.content_ref.sha256 for turn in request.turns if turn.content_ref is not None}
        refs.update(ref.sha256 for ref in request.context_refs)
        for sha in sorted(refs):
            if self.blobs.exists(sha):
                self.blobs.add_referrer(sha, request.request_id)
                self.blobs.add_referrer(sha, marker)
                self.counts.content_refs += 1
        return result.sha256

    def flush(self) -> None:
        """Nothing to do: `BlobStore.put` fsyncs the object and commits the index before it returns."""


def build_loop(
    settings: Settings,
    blobs: BlobStore | None = None,
    *,
    group_id: str = GROUP_ID,
    batch_size: int = BATCH_SIZE,
) -> tuple[ConsumerLoop, BlobSinkHandler]:
    store = blobs or blob_store_for(settings)
    return worker_loop(
        settings,
        component=COMPONENT,
        group_id=group_id,
        topic=settings.topics.requests,
        batch_size=batch_size,
        handler_for=lambda producer: BlobSinkHandler(settings, store, producer),
    )


def run(
    settings: Settings,
    *,
    idle_exit_s: float | None = None,
    blobs: BlobStore | None = None,
    group_id: str = GROUP_ID,
    batch_size: int = BATCH_SIZE,
) -> BlobSinkCounts:
    """Run the blob sink until stopped (or idle for `idle_exit_s`); closes the store it opened."""
    loop, handler = build_loop(settings, blobs, group_id=group_id, batch_size=batch_size)
    loop.serve(idle_exit_s=idle_exit_s, on_close=handler.blobs.close if blobs is None else None)
    log.info("sink_blobs.stopped", **vars(handler.counts))
    return handler.counts


__all__ = [
    "GROUP_ID",
    "BlobSinkCounts",
    "BlobSinkHandler",
    "blob_store_for",
    "build_loop",
    "check_request",
    "run",
]
