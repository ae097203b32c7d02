"""The blob sink on the real broker: every request's raw window lands in the blob store, once.

The stored bytes are exactly `window_document(request)` under `window_sha256(request)` (the sha256 the
extraction worker writes into `lineage.window_blob`), with the request id and the tenant marker as
referrers. Duplicates in the topic and a full replay by a new group store nothing new; offloaded turn
contents the window refers to are marked for the tenant too; garbage goes to quarantine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.codec import SingleObjectCodec
from schemas.events import BlobRef, ExtractionRequest, Role, WindowTurn
from sinks.blobstore import BlobStore
from sinks.blobstore.windows import WINDOW_MEDIA_TYPE, window_document, window_sha256
from sinks.search import tenant_referrer
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.kafka.producer import ReliableProducer
from streams.settings import Settings
from streams.wiring.workers import run_sink_blobs

T0 = datetime(2025, 4, 2, 8, 30, tzinfo=UTC)


def requests(count: int, offloaded: BlobRef | None = None) -> list[ExtractionRequest]:
    out = []
    for n in range(count):
        turns = tuple(
            WindowTurn(
                event_id=f"evt-{n}-{i}",
                turn_index=i,
                role=Role.USER if i % 2 == 0 else Role.TOOL,
                content=None if (offloaded and n == 0 and i == 1) else f"window {n} turn {i}: ünïcödé and\r\nCRLF",
                content_ref=offloaded if (offloaded and n == 0 and i == 1) else None,
                token_count=9,
                event_time=T0 + timedelta(minutes=n, seconds=i),
            )
            for i in range(3)
        )
        out.append(
            ExtractionRequest(
                request_id=f"req-{n:03d}",
                conversation_id=f"conv-{n % 3}",
                tenant_id="acme" if n % 2 == 0 else "globex",
                user_id=f"user-{n % 3}",
                first_turn_index=0,
                last_turn_index=2,
                turns=turns,
                priority=0.9,
                priority_class="decision",
                trigger="priority",
                token_count=27,
                created_at=T0,
            )
        )
    return out


def publish(settings: Settings, items: list[ExtractionRequest], garbage: bytes) -> None:
    codec, producer = SingleObjectCodec(), ReliableProducer(settings.kafka)
    producer.send(settings.topics.requests, garbage, key=b"conv-0")
    for request in items:
        producer.send(settings.topics.requests, codec.encode(request), key=request.conversation_id.encode())
    producer.flush()


def test_windows_are_stored_once_with_referrers(
    kafka_settings: Settings, tmp_path: Path, new_group_id: Callable[[str], str], data_dir: Path
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    tool_output = (data_dir / "loghub_2k" / "OpenSSH_2k.log").read_bytes()
    stored = blobs.put(tool_output, media_type="text/plain", referrer="evt-0-1")
    blobs.add_referrer(stored.sha256, tenant_referrer("acme"))  # as the claim check of acme's publisher leaves it
    ref = BlobRef(sha256=stored.sha256, size_bytes=len(tool_output), preview="Dec 10 06:55:46")
    items = requests(6, offloaded=ref)
    forged = items[1].model_copy(  # a globex request that names acme's blob
        update={"request_id": "req-forged", "context_refs": (ref,)}
    )
    publish(kafka_settings, [*items, *items[:2], forged], garbage=b"{not avro}")

    try:
        first = run_sink_blobs(kafka_settings, idle_exit_s=2.0, blobs=blobs, group_id=new_group_id("blobs"))
        assert (first.created, first.existing, first.quarantined) == (7, 2, 1)
        assert first.content_refs == 2, "the offloaded tool output of request 0 (seen twice); not the forged ref"
        for request in items:
            sha = window_sha256(request)
            assert blobs.get(sha) == window_document(request), "byte-exact window document"
            assert blobs.stat(sha).media_type == WINDOW_MEDIA_TYPE
            assert set(blobs.referrers(sha)) == {request.request_id, tenant_referrer(request.tenant_id)}
        assert blobs.stats().blob_count == 8
        assert set(blobs.referrers(stored.sha256)) == {"evt-0-1", "req-000", tenant_referrer("acme")}, (
            "globex's forged reference neither makes acme's blob visible to globex nor pins it"
        )

        replay = run_sink_blobs(kafka_settings, idle_exit_s=2.0, blobs=blobs, group_id=new_group_id("replay"))
        assert (replay.created, replay.existing) == (0, 9)
        assert blobs.stats().blob_count == 8
    finally:
        blobs.close()

    parked = list(read_topic(kafka_settings.kafka, kafka_settings.topics.quarantine))
    assert [m.value() for m in parked] == [b"{not avro}"] * 2
    info = ErrorInfo.from_headers(message_headers(parked[0]))
    assert info is not None and info.stage == "sink_blobs.decode" and info.error_class == "MalformedMessageError"
    assert info.topic == kafka_settings.topics.requests


def test_default_store_lives_under_the_data_dir(kafka_settings: Settings, new_group_id: Callable[[str], str]) -> None:
    items = requests(2)
    publish(kafka_settings, items, garbage=b"\x00")
    counts = run_sink_blobs(kafka_settings, idle_exit_s=1.5, group_id=new_group_id("default"))
    assert (counts.created, counts.quarantined) == (2, 1)
    with BlobStore(kafka_settings.blob_dir) as blobs:
        assert all(blobs.exists(window_sha256(request)) for request in items)
