"""Publishing through TurnPublisher on the real broker: LoCoMo round trip, ordering, failures, claim check."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from schemas.codec import SingleObjectCodec
from schemas.events import ConversationTurn
from schemas.keys import conversation_key
from sinks.blobstore import BlobStore
from streams.ingest import locomo_turns
from streams.ingest.claim_check import BlobClaimCheck
from streams.ingest.publisher import TurnPublisher
from streams.kafka.consumer import read_topic
from streams.settings import Settings


def test_locomo_dev_conversations_round_trip(kafka_settings: Settings, locomo_path: Path) -> None:
    turns = [item.turn for item in locomo_turns(locomo_path, tenant_id="acme")]
    assert len(turns) == 2760
    reports = []
    with TurnPublisher(kafka_settings.stream_context()) as publisher:
        for turn in turns:
            publisher.publish(turn, on_delivery=reports.append)
    assert publisher.summary.sent == publisher.summary.delivered == len(turns)
    assert publisher.summary.failed == 0
    assert len(reports) == len(turns) and all(r.ok for r in reports)

    codec = SingleObjectCodec()
    back: dict[str, ConversationTurn] = {}
    partitions: dict[str, set[int]] = defaultdict(set)
    order: dict[str, list[int]] = defaultdict(list)
    for message in read_topic(kafka_settings.kafka, kafka_settings.topics.turns):
        turn = codec.decode(message.value(), ConversationTurn, message.topic())
        assert message.key() == conversation_key(turn.tenant_id, turn.conversation_id).encode()
        back[turn.event_id] = turn
        partitions[turn.conversation_id].add(message.partition())
        order[turn.conversation_id].append(turn.turn_index)
    assert back == {turn.event_id: turn for turn in turns}
    assert all(len(p) == 1 for p in partitions.values()), "a conversation must stay on one partition"
    assert all(indexes == sorted(indexes) for indexes in order.values()), "per-conversation order is kept"


def test_failed_delivery_is_reported_not_dropped(kafka_settings: Settings, locomo_path: Path) -> None:
    turns = [item.turn for item in locomo_turns(locomo_path, tenant_id="acme")][:5]
    publisher = TurnPublisher(
        kafka_settings.stream_context(), topic="test.no-such-topic", **{"message.timeout.ms": 3000}
    )
    for turn in turns:
        publisher.publish(turn)
    summary = publisher.close(timeout=30)
    assert summary.sent == 5
    assert summary.failed == 5 and summary.delivered == 0
    assert len(summary.failures) == 5
    assert all("UNKNOWN_TOPIC" in f.upper() or "TIMED_OUT" in f.upper() for f in summary.failures)


def test_large_content_is_offloaded_to_the_blob_store(kafka_settings: Settings, data_dir: Path, tmp_path: Path) -> None:
    log_text = (data_dir / "loghub_2k" / "HDFS_2k.log").read_text()
    big = ConversationTurn.model_validate(
        {
            "event_id": "evt-big",
            "conversation_id": "c-tool",
            "turn_index": 0,
            "tenant_id": "acme",
            "user_id": "dev",
            "platform": "agent",
            "role": "tool",
            "tool_name": "bash",
            "content": log_text,
            "token_count": 70000,
            "tool_output_bytes": len(log_text.encode()),
            "event_time": "2024-01-01T00:00:00Z",
        }
    )
    small = big.model_copy(update={"event_id": "evt-small", "turn_index": 1, "content": "exit code 0"})
    store = BlobStore(tmp_path / "blobs")
    with TurnPublisher(kafka_settings.stream_context(), claim_check=BlobClaimCheck(store)) as publisher:
        publisher.publish(big)
        publisher.publish(small)
    assert publisher.summary.offloaded == 1
    codec = SingleObjectCodec()
    back = {
        t.event_id: t
        for t in (
            codec.decode(m.value(), ConversationTurn, "")
            for m in read_topic(kafka_settings.kafka, kafka_settings.topics.turns)
        )
    }
    ref = back["evt-big"].content_ref
    assert back["evt-big"].content is None and ref is not None
    assert ref.preview == log_text[:800] and ref.size_bytes == len(log_text.encode())
    assert store.get(ref.sha256) == log_text.encode()
    assert back["evt-small"].content == "exit code 0" and back["evt-small"].content_ref is None
    store.close()
