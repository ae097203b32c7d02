"""The Qdrant sink on the real broker and a real embedded shard on disk.

1. Replays add no points: duplicates in the topic and a full re-read by a new group leave the count
   at the number of distinct memory ids; an undecodable message is quarantined and the stream goes on.
2. A sink killed with SIGKILL mid-stream loses nothing: everything its committed offsets cover is in
   the shard, and a restart in the same group brings the store to every memory, each one searchable.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from schemas.codec import SingleObjectCodec
from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore, SearchFilters
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.kafka.producer import ReliableProducer
from streams.settings import Settings
from streams.wiring.workers import run_sink_qdrant

REPO_ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NAMES = ("Ana", "Bruno", "Chiara", "Dmitri", "Esi", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Luca")
FACTS = (
    "keeps {n} bonsai trees on a sunny balcony",
    "flies to Reykjavik every winter to photograph auroras",
    "is allergic to shellfish and carries an epipen",
    "repairs vintage motorcycles in a garage workshop",
    "teaches evening salsa classes at the community hall",
    "wrote a thesis about medieval trade routes",
    "runs the payments service on call rotation",
    "adopted a three-legged greyhound called Pixel",
    "prefers green tea over coffee in the morning",
    "is training for a triathlon in the autumn",
)


def memory_batches(count: int, per_batch: int = 3) -> list[MemoryBatch]:
    """`count` batches of distinct memories; a user's facts never near-duplicate each other."""
    batches = []
    for n in range(count):
        name = NAMES[n % len(NAMES)]
        memories = tuple(
            Memory(
                memory_id=f"mem-{n:03d}-{i}",
                kind=MemoryKind.FACT,
                text=f"{name} {FACTS[(n // len(NAMES) * per_batch + i) % len(FACTS)].format(n=n + 2)}",
                confidence=0.9,
                event_time=T0 + timedelta(minutes=n),
            )
            for i in range(per_batch)
        )
        batches.append(
            MemoryBatch(
                batch_id=f"batch-{n:03d}",
                request_id=f"req-{n:03d}",
                conversation_id=f"conv-{name}",
                tenant_id="acme",
                user_id=name.lower(),
                extractor="heuristic",
                extractor_version="1",
                memories=memories,
                lineage=Lineage(
                    source_topic="memlane.extraction.requests.v1",
                    source_partition=0,
                    source_offset=n,
                    first_turn_index=0,
                    last_turn_index=2,
                ),
            )
        )
    return batches


def publish(settings: Settings, batches: list[MemoryBatch], *, garbage: bytes | None = None) -> None:
    codec, producer = SingleObjectCodec(), ReliableProducer(settings.kafka)
    for position, batch in enumerate(batches):
        if garbage is not None and position == len(batches) // 2:
            producer.send(settings.topics.memories, garbage, key=batch.conversation_id.encode())
        producer.send(settings.topics.memories, codec.encode(batch), key=batch.conversation_id.encode())
    producer.flush()


def with_shard(settings: Settings, tmp_path: Path) -> Settings:
    sinks = settings.sinks.model_copy(update={"qdrant_path": tmp_path / "qdrant"})
    return settings.model_copy(update={"sinks": sinks})


def open_shard(settings: Settings) -> EdgeMemoryStore:
    return EdgeMemoryStore(settings.sinks.qdrant_path / settings.sinks.collection, shared_onnx_embedder())


def test_replayed_memories_add_no_points_and_garbage_is_quarantined(
    kafka_settings: Settings, tmp_path: Path, new_group_id: Callable[[str], str]
) -> None:
    settings = with_shard(kafka_settings, tmp_path)
    batches = memory_batches(12)
    publish(settings, batches + batches[:3], garbage=b"\xc3\x01not-avro-at-all")
    distinct = {m.memory_id for b in batches for m in b.memories}

    first = run_sink_qdrant(settings, idle_exit_s=2.0, group_id=new_group_id("sink"), batch_size=4)
    assert first.quarantined == 1
    assert first.inserted == len(distinct) and first.updated == 0
    assert first.unchanged == 9, "the three duplicated batches in the topic are no-ops"

    again = run_sink_qdrant(settings, idle_exit_s=2.0, group_id=new_group_id("replay"))
    assert again.inserted == 0 and again.updated == 0 and again.unchanged == len(distinct) + 9

    with open_shard(settings) as store:
        assert store.count("acme") == len(distinct)
        assert all(store.get("acme", mid) is not None for mid in distinct)
        hits = store.search("acme", "what food allergy does Hiro have", SearchFilters(user_id="hiro"), limit=3)
        assert len(hits) == 3 and "shellfish" in hits[0].text

    parked = list(read_topic(settings.kafka, settings.topics.quarantine))
    assert [m.value() for m in parked] == [b"\xc3\x01not-avro-at-all"] * 2, "parked once per read of the stream"
    info = ErrorInfo.from_headers(message_headers(parked[0]))
    assert info is not None and info.stage == "sink_qdrant.decode" and info.topic == settings.topics.memories
    assert info.offset >= 0 and info.error_class in ("UnknownSchemaError", "MalformedMessageError")


CHILD = textwrap.dedent(
    """
    import sys
    from streams.kafka import consumer
    from streams.settings import Settings
    from streams.wiring.workers import run_sink_qdrant
    consumer.AT_LEAST_ONCE_CONF["session.timeout.ms"] = 6000  # the restart need not wait 30 s for the dead member
    settings = Settings.model_validate_json(sys.argv[1])
    run_sink_qdrant(settings, group_id=sys.argv[2], batch_size=2)
    """
)


def committed(settings: Settings, group: str) -> dict[int, int]:
    """The group's committed offset per partition of the memories topic (0 where none)."""
    consumer = Consumer(settings.kafka_config(**{"group.id": group, "enable.auto.commit": False}))
    try:
        parts = [TopicPartition(settings.topics.memories, p) for p in range(settings.broker.default_partitions)]
        return {tp.partition: max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()


def committed_memory_ids(settings: Settings, offsets: dict[int, int]) -> set[str]:
    """Memory ids of the messages below the committed offsets."""
    codec = SingleObjectCodec()
    return {
        memory.memory_id
        for message in read_topic(settings.kafka, settings.topics.memories)
        if (message.offset() or 0) < offsets.get(message.partition() or 0, 0)
        for memory in codec.decode(message.value() or b"", MemoryBatch).memories
    }


def test_sink_killed_mid_stream_loses_nothing(
    kafka_settings: Settings, tmp_path: Path, new_group_id: Callable[[str], str]
) -> None:
    settings = with_shard(kafka_settings, tmp_path)
    batches = memory_batches(40, per_batch=2)
    publish(settings, batches)
    distinct = {m.memory_id for b in batches for m in b.memories}
    group = new_group_id("killed")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "child.log"
    with log.open("wb") as sink_log:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, settings.model_dump_json(), group],
            cwd=REPO_ROOT,
            env=env,
            stdout=sink_log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while sum(committed(settings, group).values()) < 8 and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(30)
    assert child.returncode == -signal.SIGKILL, log.read_text(errors="replace")[-2000:]
    offsets = committed(settings, group)
    done = sum(offsets.values())
    assert 8 <= done < len(batches), f"the kill must land mid-stream (committed {done})"

    with open_shard(settings) as store:
        survived = store.count("acme")
        found = {mid for mid in distinct if store.get("acme", mid) is not None}
    assert survived == len(found) < len(distinct)
    covered = committed_memory_ids(settings, offsets)
    assert len(covered) == 2 * done
    assert covered <= found, "every memory whose offset was committed survived SIGKILL"

    restarted = run_sink_qdrant(settings, idle_exit_s=2.0, group_id=group)
    assert restarted.inserted == len(distinct) - survived
    assert restarted.updated == 0
    with open_shard(settings) as store:
        assert store.count("acme") == len(distinct)
        assert all(store.get("acme", mid) is not None for mid in distinct)
        hits = store.search("acme", "motorcycles garage", SearchFilters(user_id="dmitri"), limit=10)
        assert any("motorcycles" in hit.text for hit in hits)
