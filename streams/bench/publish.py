"""`memlane bench publish`: TurnPublisher against a raw confluent-kafka producer on the same broker.

Both sides send the same LoCoMo-derived ConversationTurns to their own fresh topic with the same
producer settings (idempotent, acks=all, same linger and compression). Ours validates nothing
further but does Avro-encode each turn, key it and track delivery reports; the raw side sends the
pre-encoded bytes with a bare delivery callback. Rounds alternate (ours, raw, ours, raw, ...) so
machine noise hits both; the ratio is median(ours) / median(raw) msgs/s.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.codec import SingleObjectCodec
from schemas.events import ConversationTurn
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.report import median
from streams.ingest import locomo_turns
from streams.ingest.publisher import TurnPublisher
from streams.kafka.producer import RELIABLE_PRODUCER_CONF
from streams.settings import Settings
from streams.wiring.broker import live_broker

GOAL_RATIO = 0.7


def _turns(settings: Settings, path: Path, count: int) -> list[ConversationTurn]:
    base = [item.turn for item in locomo_turns(path, tenant_id=settings.tenant_id)]
    turns: list[ConversationTurn] = []
    copy = 0
    while len(turns) < count:
        for turn in base:
            if len(turns) >= count:
                break
            turns.append(
                turn.model_copy(update={"conversation_id": f"{turn.conversation_id}-{copy}", "turn_index": len(turns)})
            )
        copy += 1
    return turns


def _run_ours(settings: Settings, topic: str, turns: list[ConversationTurn]) -> float:
    publisher = TurnPublisher(settings.stream_context(), topic=topic)
    began = time.perf_counter()
    for turn in turns:
        publisher.publish(turn)
    summary = publisher.close()
    elapsed = time.perf_counter() - began
    if summary.delivered != len(turns):
        raise RuntimeError(f"ours delivered {summary.delivered}/{len(turns)}")
    return len(turns) / elapsed


def _run_raw(settings: Settings, topic: str, encoded: list[tuple[bytes, bytes]]) -> float:
    producer = Producer(settings.kafka_config(**RELIABLE_PRODUCER_CONF))
    delivered = 0

    def on_delivery(error: Any, _message: Any) -> None:
        nonlocal delivered
        if error is None:
            delivered += 1

    began = time.perf_counter()
    for key, value in encoded:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.perf_counter() - began
    if delivered != len(encoded):
        raise RuntimeError(f"raw delivered {delivered}/{len(encoded)}")
    return len(encoded) / elapsed


def run(options: BenchOptions) -> BenchReport:
    """Publish the same turns through both paths, round after round (starting a broker if none answers)."""
    messages, rounds = (5000, 3) if options.quick else (20000, 5)
    with live_broker(options.settings) as live:
        turns = _turns(live, options.data_path("locomo/locomo_dev5.json"), messages)
        codec = SingleObjectCodec()
        encoded = [(t.conversation_id.encode(), codec.encode(t, "")) for t in turns]
        admin = AdminClient(live.kafka_config())
        suffix = uuid.uuid4().hex[:8]
        topics = {"ours": f"bench.publish.ours.{suffix}", "raw": f"bench.publish.raw.{suffix}"}
        for future in admin.create_topics(
            [NewTopic(t, num_partitions=6, replication_factor=1) for t in topics.values()]
        ).values():
            future.result(30)
        rows: list[dict[str, Any]] = []
        try:
            _run_raw(live, topics["raw"], encoded[:2000])  # warm-up both paths once
            _run_ours(live, topics["ours"], turns[:2000])
            for index in range(rounds):
                ours = _run_ours(live, topics["ours"], turns)
                raw = _run_raw(live, topics["raw"], encoded)
                rows.append({"round": index + 1, "ours_msgs_per_s": ours, "raw_msgs_per_s": raw, "ratio": ours / raw})
        finally:
            for future in admin.delete_topics(list(topics.values())).values():
                try:
                    future.result(30)
                except Exception:  # deletion is best effort; the run's figures stand
                    pass
    ours_median = median(r["ours_msgs_per_s"] for r in rows)
    raw_median = median(r["raw_msgs_per_s"] for r in rows)
    ratio = ours_median / raw_median
    summary = {
        "ratio": ratio,
        "ours_msgs_per_s": ours_median,
        "raw_msgs_per_s": raw_median,
        "messages_per_round": messages,
        "rounds": rounds,
        "mean_value_bytes": sum(len(v) for _k, v in encoded) / len(encoded),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO,
    }
    return BenchReport(
        "publish",
        columns=["round", "ours_msgs_per_s", "raw_msgs_per_s", "ratio"],
        rows=rows,
        summary=summary,
        notes=["ours = TurnPublisher (Avro encode + key + delivery tracking); raw = pre-encoded bytes, bare producer"],
    )


__all__ = ["run"]
