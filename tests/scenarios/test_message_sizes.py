"""Messages at the size limit, valid turns and garbage, produced straight onto the turns topic by a foreign
producer: 999,000 / 1,000,500 / 1,048,000 bytes. What the topic accepts is processed without a crash loop:
large content is claim-checked into the blob store, garbage is quarantined truncated with its full bytes in
the blob store, and the topic refuses what is over its limit at the door."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scenario_support import Pipeline, record

from schemas.codec import SingleObjectCodec
from schemas.events import ConversationTurn, ExtractionRequest, Role
from schemas.keys import conversation_key
from sinks.blobstore import BlobStore
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import BLOB_HEADER, SIZE_HEADER, message_headers
from streams.settings import Settings

SIZES = (999_000, 1_000_500, 1_048_000)


def big_turn(index: int, size: int) -> bytes:
    """A valid turn whose encoded value is about `size` bytes (inline content: no claim check on the way)."""
    base = ConversationTurn(
        event_id=f"big-{index}",
        conversation_id=f"big-{index}",
        turn_index=0,
        tenant_id="acme",
        user_id="ana",
        platform="test",
        role=Role.TOOL,
        tool_name="pytest",
        content="x",
        token_count=0,
        event_time=datetime(2025, 6, 2, 9, 0, tzinfo=UTC),
    )
    codec = SingleObjectCodec()
    overhead = len(codec.encode(base))
    line = "FAILED tests/test_fields.py::test_datetime_field - AssertionError: expected 2019-01-01\n"
    text = (line * (size // len(line) + 1))[: size - overhead - 4]
    return codec.encode(base.model_copy(update={"content": text}))


def test_messages_at_the_limit_are_processed_or_refused_never_crash_looped(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    pipeline = Pipeline.for_test(kafka_settings, tmp_path)
    accepted: dict[str, int] = {}
    refused: dict[str, str] = {}
    for index, size in enumerate(SIZES):
        valid = big_turn(index, size)
        garbage = bytes([0xC3, 0x01]) + bytes(range(256)) * (size // 256)
        for kind, key, value in (
            ("valid", conversation_key("acme", f"big-{index}").encode(), valid),
            ("garbage", b"garbage", garbage[:size]),
        ):
            error = pipeline.produce_raw(key, value)
            name = f"{kind}-{size}"
            if error is None:
                accepted[name] = len(value)
            else:
                refused[name] = error
    pipeline.drain_processors()
    report = pipeline.verify()
    settings = pipeline.settings
    parked = list(read_topic(settings.kafka, settings.topics.quarantine))
    requests = [
        settings.codec().decode(m.value() or b"", ExtractionRequest, settings.topics.requests)
        for m in read_topic(settings.kafka, settings.topics.requests)
    ]
    with BlobStore(settings.blob_dir) as blobs:
        for message in parked:
            headers = dict(message_headers(message))
            size = int(headers[SIZE_HEADER])
            sha = (
                headers[BLOB_HEADER].decode() if isinstance(headers[BLOB_HEADER], bytes) else str(headers[BLOB_HEADER])
            )
            assert len(message.value() or b"") <= settings.kafka.value_limit < size
            assert len(blobs.get(sha)) == size, "the full bytes of the truncated copy are in the blob store"
            info = ErrorInfo.from_headers(message_headers(message))
            assert info is not None and info.stage == "processors"
        for request in requests:
            (window_turn,) = request.turns
            assert window_turn.content is None and window_turn.content_ref is not None
            assert blobs.exists(window_turn.content_ref.sha256), "the big content was claim-checked"
    record(
        "messages at the size limit (999,000 / 1,000,500 / 1,048,000 bytes)",
        sent=len(SIZES) * 2,
        accepted=len(accepted),
        refused_by_topic=len(refused),
        requests=len(requests),
        quarantined_truncated=len(parked),
        lost=report.turns_lost,
        verdict=report.verdict,
    )
    assert set(refused) == {"valid-1048000", "garbage-1048000"}, refused
    assert all("MSG_SIZE_TOO_LARGE" in error or "too large" in error.lower() for error in refused.values())
    assert report.ok and report.turns == len(accepted), report.discrepancies
    assert len(requests) == 2 and len(parked) == 2
