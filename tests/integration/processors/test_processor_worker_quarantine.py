"""Poison on the turns topic ends in quarantine with `memlane.error.*` headers, and the stream goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from processor_worker_support import Worker, make_turns, publish, read_outputs, worker_env

from schemas.codec import SingleObjectCodec
from streams.settings import Settings


def test_poison_events_are_quarantined_and_later_turns_processed(
    kafka_settings: Settings,
    new_group_id: Callable[[str], str],
    start_worker: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    turns = make_turns(conversations=3, per_conversation=40, prefix="poison")
    before, after = turns[:60], turns[60:]
    wrong_key = SingleObjectCodec().encode(turns[0].model_copy(update={"turn_index": 999}))
    poison = [
        (b"poison-0", b"not avro at all"),
        (b"poison-1", b"\xc3\x01" + b"\x00" * 8 + b"garbage"),
        (b"poison-0", b"\x00\x00\x00\x00\x01"),
        (b"someone-else", wrong_key),
    ]
    publish(kafka_settings, before)
    placed: dict[bytes, tuple[int, int]] = {}

    def on_delivery(error: Any, message: Any) -> None:
        assert error is None
        placed[message.value()] = (message.partition(), message.offset())

    producer = Producer(kafka_settings.kafka_config())
    for key, value in poison:
        producer.produce(kafka_settings.topics.turns, key=key, value=value, on_delivery=on_delivery)
    assert producer.flush(30) == 0
    publish(kafka_settings, after)

    env = worker_env(kafka_settings, new_group_id("proc-poison"), tmp_path / "rocksdb", drain_flush_s="1.5")
    worker = start_worker(env, "--idle-exit", "3")
    assert worker.wait(90) == 0, worker.log()[-3000:]
    outputs = read_outputs(kafka_settings)

    quarantined = {value: (key, info, partition) for key, value, info, partition, _offset in outputs.quarantined}
    assert set(quarantined) == {value for _key, value in poison}, "each poison message parked once, bytes intact"
    for key, value in poison:
        parked_key, info, _partition = quarantined[value]
        assert parked_key == key
        assert info is not None, "quarantined without memlane.error.* headers"
        assert info.stage == "processors"
        assert info.topic == kafka_settings.topics.turns
        assert (info.partition, info.offset) == placed[value]
        assert info.error_class in {"MalformedMessageError", "UnknownSchemaError", "ValidationError"}
        assert info.message
    stray = quarantined[wrong_key][1]
    assert (
        stray is not None and stray.error_class == "ValidationError" and "does not name conversation" in stray.message
    )
    verdicts = outputs.verdicts()
    assert all(verdicts.get((t.conversation_id, t.turn_index)) for t in before + after), "the stream went on"
    assert ("poison-0", 999) not in verdicts
