"""Blob sink: keeps the raw extraction windows that memories point to (`extraction.requests` -> blob store).

A `Sink` over the consumer loop. For every `ExtractionRequest` it stores `window_document(request)` (media
type `WINDOW_MEDIA_TYPE`) in the zstd content-addressed blob store, with the request id as referrer, so the
sha256 a memory's `lineage.window_blob` names can be fetched back in slices. Content addressing makes it
idempotent: a replayed request puts the same bytes under the same key, and the store keeps them once.

The window blob also gets the referrer `tenant:<tenant_id>`: the search service shows a tenant only blobs
carrying its marker, and GC keeps them while the marker stays. Offloaded turn contents the window refers to
get the request id as referrer, but only when the blob already carries the request's tenant marker (the claim
check that stored it added it): a request cannot make another tenant's blob visible by naming its sha256.

`BlobStore.put` is durable when it returns (fsynced object, synchronous SQLite index), so `flush()` has
nothing left to do before the loop commits. Undecodable or unusable requests go to quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from schemas.errors import ValidationError
from schemas.events import ExtractionRequest
from sinks.base import SinkRecord
from sinks.blobstore import BlobStore
from sinks.blobstore.keys import tenant_referrer
from sinks.blobstore.windows import WINDOW_MEDIA_TYPE, window_document
from streams.kafka.worker_spec import WorkerSpec
from streams.metrics import BLOBS_WRITTEN
from streams.workers.worker_sink import WorkerCounts, WorkerSink

log = structlog.get_logger(__name__)

COMPONENT = "sink-blobs"
STAGE = "sink_blobs"
_MAX_REFERRER = 512


@dataclass
class BlobSinkCounts(WorkerCounts):
    created: int = 0
    existing: int = 0
    content_refs: int = 0


def check_request(request: ExtractionRequest) -> None:
    """Raise `ValidationError` for a request whose window could never be stored with its referrers."""
    if not request.request_id or len(request.request_id) > _MAX_REFERRER:
        raise ValidationError(f"request id must have 1-{_MAX_REFERRER} characters", field="request_id")
    if not request.tenant_id or len(tenant_referrer(request.tenant_id)) > _MAX_REFERRER:
        raise ValidationError("request has no usable tenant_id", field="tenant_id")


class BlobSink(WorkerSink[ExtractionRequest, BlobSinkCounts]):
    """Stores the window of every request; the blob store's writes are durable on return."""

    def __init__(self, blobs: BlobStore, *, owns_store: bool = True) -> None:
        self.blobs = blobs
        self.owns_store = owns_store
        self.counts = BlobSinkCounts()

    def add(self, record: SinkRecord[ExtractionRequest]) -> None:
        self.store_window(record.value)

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
            if self.blobs.exists(sha) and marker in self.blobs.referrers(sha):
                self.blobs.add_referrer(sha, request.request_id)
                self.counts.content_refs += 1
        return result.sha256

    def close(self) -> None:
        if self.owns_store:
            self.blobs.close()


SPEC = WorkerSpec(COMPONENT, STAGE, ExtractionRequest, lambda topics: topics.requests, validate=check_request)


__all__ = ["COMPONENT", "SPEC", "BlobSink", "BlobSinkCounts", "check_request"]
